import { describe, expect, it } from 'vitest';
import { CommandBus } from './command-bus.ts';
import { defineCommand } from './definitions.ts';
import { DispatchError, ErrorCode, isSwitchyardError } from './errors.ts';
import { Priority, phaseOf } from './pipeline.ts';
import { CommandRouter } from './plugins/command-router.ts';

const Ping = defineCommand<{ n: number }>('Ping');

function busWithHandler(handler: (message: unknown) => unknown = () => {}) {
  const bus = new CommandBus();
  const router = new CommandRouter();
  router.route(Ping).to(handler);
  bus.use(router);
  return bus;
}

describe('pipeline', () => {
  it('runs listeners by descending priority through the prooph phases, finalize last', async () => {
    const order: string[] = [];
    const bus = busWithHandler(() => order.push('handler'));
    bus.attach('finalize', () => order.push('finalize'), 0);
    bus.attach('dispatch', () => order.push('invoke-handler'), Priority.invokeHandler + 1);
    bus.attach('dispatch', () => order.push('locate-handler'), Priority.locateHandler);
    bus.attach('dispatch', () => order.push('route'), Priority.route + 1);
    bus.attach('dispatch', () => order.push('detect'), Priority.detectMessageName + 1);
    bus.attach('dispatch', () => order.push('initialize'), Priority.initialize);
    await bus.dispatch(Ping.create({ n: 1 }));
    expect(order).toEqual([
      'initialize',
      'detect',
      'route',
      'locate-handler',
      'invoke-handler',
      'handler',
      'finalize',
    ]);
  });

  it('runs listeners of equal priority in attach order', async () => {
    const order: number[] = [];
    const bus = busWithHandler();
    for (const n of [1, 2, 3]) bus.attach('dispatch', () => order.push(n), 5_000);
    await bus.dispatch(Ping.create({ n: 1 }));
    expect(order).toEqual([1, 2, 3]);
  });

  it('detaches a listener by its handle', async () => {
    const calls: string[] = [];
    const bus = busWithHandler();
    const handle = bus.attach('dispatch', () => calls.push('x'), 5_000);
    expect(bus.detach(handle)).toBe(true);
    expect(bus.detach(handle)).toBe(false);
    await bus.dispatch(Ping.create({ n: 1 }));
    expect(calls).toEqual([]);
  });

  it('rejects unknown event names and bad priorities', () => {
    const bus = new CommandBus();
    expect(() => bus.attach('dispatched' as 'dispatch', () => {}, 0)).toThrowError(/Unknown bus event/);
    expect(() => bus.attach('dispatch', () => {}, Number.NaN)).toThrowError(/finite/);
  });

  it('runs finalize even after propagation was stopped', async () => {
    const seen: string[] = [];
    const bus = busWithHandler(() => seen.push('handler'));
    bus.attach('dispatch', (context) => context.stopPropagation(), Priority.initialize);
    bus.attach('finalize', () => seen.push('finalize'), 0);
    const error = await bus.dispatch(Ping.create({ n: 1 })).catch((e: unknown) => e);
    expect(seen).toEqual(['finalize']);
    // Stopping before a handler ran leaves the command unhandled: that is still an error.
    expect(isSwitchyardError(error, ErrorCode.NoHandler)).toBe(true);
  });

  it('surfaces a listener error as one DispatchError with cause, message name and phase', async () => {
    const boom = new Error('boom');
    const bus = busWithHandler();
    bus.attach(
      'dispatch',
      () => {
        throw boom;
      },
      Priority.locateHandler,
    );
    const error = (await bus.dispatch(Ping.create({ n: 1 })).catch((e: unknown) => e)) as DispatchError;
    expect(error).toBeInstanceOf(DispatchError);
    expect(error.name).toBe('DispatchError');
    expect(error.code).toBe(ErrorCode.HandlerFailed);
    expect(error.cause).toBe(boom);
    expect(error.messageName).toBe('Ping');
    expect(error.phase).toBe('locate-handler');
    expect(error.message).toContain('boom');
  });

  it('reports the phase of an async listener that rejects', async () => {
    const bus = busWithHandler();
    bus.attach('dispatch', async () => Promise.reject(new Error('late')), Priority.route - 1);
    bus.attach('dispatch', () => {}, Priority.locateHandler);
    const error = (await bus.dispatch(Ping.create({ n: 1 })).catch((e: unknown) => e)) as DispatchError;
    expect(error.phase).toBe('route');
  });

  it('lets a finalize listener clear the error', async () => {
    const bus = busWithHandler(() => {
      throw new Error('handler failed');
    });
    const seen: unknown[] = [];
    bus.attach(
      'finalize',
      (context) => {
        seen.push(context.error);
        context.error = undefined;
      },
      0,
    );
    await expect(bus.dispatch(Ping.create({ n: 1 }))).resolves.toBeUndefined();
    expect((seen[0] as Error).message).toBe('handler failed');
  });

  it('reports an error thrown in finalize with the finalize phase', async () => {
    const bus = busWithHandler();
    bus.attach(
      'finalize',
      () => {
        throw new Error('finalize broke');
      },
      0,
    );
    const error = (await bus.dispatch(Ping.create({ n: 1 })).catch((e: unknown) => e)) as DispatchError;
    expect(error.phase).toBe('finalize');
  });

  it('maps priorities to phases', () => {
    expect(phaseOf(500_000)).toBe('initialize');
    expect(phaseOf(Priority.initialize)).toBe('initialize');
    expect(phaseOf(Priority.detectMessageName)).toBe('detect-message-name');
    expect(phaseOf(Priority.route)).toBe('route');
    expect(phaseOf(Priority.route - 1_000)).toBe('route');
    expect(phaseOf(Priority.locateHandler)).toBe('locate-handler');
    expect(phaseOf(1_000)).toBe('locate-handler');
    expect(phaseOf(0)).toBe('invoke-handler');
    expect(phaseOf(-10)).toBe('invoke-handler');
  });

  it('lets a detect-message-name listener name a message that carries none', async () => {
    const handled: unknown[] = [];
    const bus = busWithHandler((message) => handled.push(message));
    bus.attach(
      'dispatch',
      (context) => {
        const value = context.message as { type?: string };
        if (context.messageName === undefined && value.type !== undefined) context.messageName = value.type;
      },
      Priority.detectMessageName + 1,
    );
    await bus.dispatchRaw({ type: 'Ping', n: 2 });
    expect(handled).toEqual([{ type: 'Ping', n: 2 }]);
    const error = await bus.dispatchRaw({ n: 3 }).catch((e: unknown) => e);
    expect(isSwitchyardError(error, ErrorCode.NoHandler)).toBe(true);
    expect((error as DispatchError).messageName).toBeUndefined();
  });
});
