import { describe, expect, it } from 'vitest';
import { defineEvent } from './definitions.ts';
import { type DispatchError, ErrorCode, isSwitchyardError, type ListenerErrors } from './errors.ts';
import { EventBus } from './event-bus.ts';
import { EventRouter } from './plugins/event-router.ts';
import { ListenerExceptionCollectionMode } from './plugins/listener-exception-collection-mode.ts';

const Happened = defineEvent<{ n: number }>('Happened');

function setup(listeners: ((n: number) => unknown)[], collect = false) {
  const router = new EventRouter();
  const [first, ...rest] = listeners;
  if (first !== undefined) {
    let route = router.route(Happened).to((event) => first(event.payload.n));
    for (const listener of rest) route = route.andTo((event) => listener(event.payload.n));
  }
  const bus = new EventBus({ collectListenerErrors: collect });
  bus.use(router);
  return bus;
}

describe('EventBus', () => {
  it('resolves with no listeners at all', async () => {
    await expect(new EventBus().dispatch(Happened.create({ n: 1 }))).resolves.toBeUndefined();
  });

  it('calls every listener in routing order, awaiting async ones', async () => {
    const order: string[] = [];
    const bus = setup([
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        order.push('a');
      },
      () => order.push('b'),
      () => order.push('c'),
    ]);
    await bus.dispatch(Happened.create({ n: 1 }));
    expect(order).toEqual(['a', 'b', 'c']);
  });

  it('stops at the first failing listener by default', async () => {
    const order: string[] = [];
    const bus = setup([
      () => order.push('a'),
      () => {
        throw new Error('b failed');
      },
      () => order.push('c'),
    ]);
    const error = (await bus.dispatch(Happened.create({ n: 1 })).catch((e: unknown) => e)) as DispatchError;
    expect(order).toEqual(['a']);
    expect((error.cause as Error).message).toBe('b failed');
  });

  it('runs all listeners in collection mode and throws one aggregate error', async () => {
    const order: string[] = [];
    const fail = (label: string) => () => {
      order.push(label);
      throw new Error(label);
    };
    for (const bus of [
      setup([fail('a'), () => order.push('b'), fail('c')], true),
      (() => {
        const b = setup([fail('a'), () => order.push('b'), fail('c')]);
        b.use(new ListenerExceptionCollectionMode());
        return b;
      })(),
    ]) {
      order.length = 0;
      const error = (await bus.dispatch(Happened.create({ n: 1 })).catch((e: unknown) => e)) as DispatchError;
      expect(order).toEqual(['a', 'b', 'c']);
      expect(isSwitchyardError(error, ErrorCode.ListenerErrors)).toBe(true);
      const aggregate = error.cause as ListenerErrors;
      expect(aggregate.errors.map((e) => (e as Error).message)).toEqual(['a', 'c']);
    }
  });

  it('invokes { onEvent } listener objects', async () => {
    const seen: number[] = [];
    const router = new EventRouter();
    router.route(Happened).to({ onEvent: (event) => seen.push(event.payload.n) });
    const bus = new EventBus();
    bus.use(router);
    await bus.dispatch(Happened.create({ n: 7 }));
    expect(seen).toEqual([7]);
  });

  it('refuses collection mode on a non-event bus', async () => {
    const { CommandBus } = await import('./command-bus.ts');
    expect(() => new CommandBus().use(new ListenerExceptionCollectionMode())).toThrowError(/event/);
  });
});
