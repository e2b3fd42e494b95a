import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Deferred } from './deferred.ts';
import { defineQuery } from './definitions.ts';
import { type DispatchError, ErrorCode, isSwitchyardError } from './errors.ts';
import type { MessageProducer } from './message-producer.ts';
import { deferredFinder } from './plugins/deferred-finder.ts';
import { QueryRouter } from './plugins/query-router.ts';
import { QueryBus } from './query-bus.ts';

const GetUser = defineQuery<{ id: string }, { id: string; name: string } | undefined>('GetUser');

function busWith(finder: Parameters<ReturnType<QueryRouter['route']>['to']>[0]) {
  const router = new QueryRouter();
  router.route('GetUser').to(finder);
  const bus = new QueryBus();
  bus.use(router);
  return bus;
}

describe('QueryBus', () => {
  it('resolves with the typed result of a value-returning finder', async () => {
    const router = new QueryRouter();
    router.route(GetUser).to(async (query) => ({ id: query.payload.id, name: 'Ada' }));
    const bus = new QueryBus();
    bus.use(router);
    const user = await bus.dispatch(GetUser.create({ id: 'u1' }));
    expectTypeOf(user).toEqualTypeOf<{ id: string; name: string } | undefined>();
    expect(user).toEqual({ id: 'u1', name: 'Ada' });
  });

  it('resolves with undefined when the finder finds nothing', async () => {
    const bus = busWith(() => undefined);
    await expect(bus.dispatch(GetUser.create({ id: 'x' }))).resolves.toBeUndefined();
  });

  it('supports prooph-style finders that settle the deferred later', async () => {
    const bus = busWith(
      deferredFinder((_query: unknown, deferred: Deferred<unknown>) => {
        setTimeout(() => deferred.resolve({ id: 'late', name: 'Bob' }), 5);
      }),
    );
    await expect(bus.dispatch(GetUser.create({ id: 'x' }))).resolves.toEqual({ id: 'late', name: 'Bob' });
  });

  it('tells the finder whether a timeout or signal may settle its deferred first (raceable)', async () => {
    const seen: boolean[] = [];
    const bus = busWith(
      deferredFinder((_query: unknown, deferred: Deferred<unknown>) => {
        seen.push(deferred.raceable);
        deferred.resolve(undefined);
      }),
    );
    await bus.dispatch(GetUser.create({ id: 'a' }));
    await bus.dispatch(GetUser.create({ id: 'b' }), { timeoutMs: 1_000 });
    await bus.dispatch(GetUser.create({ id: 'c' }), { signal: new AbortController().signal });
    expect(seen).toEqual([false, true, true]);
  });

  it('infers the query and result types of a deferredFinder from its route', async () => {
    const router = new QueryRouter();
    router.route(GetUser).to(
      deferredFinder((query, deferred) => {
        expectTypeOf(query.payload).toEqualTypeOf<{ id: string }>();
        expectTypeOf(deferred.resolve)
          .parameter(0)
          .toEqualTypeOf<
            { id: string; name: string } | undefined | PromiseLike<{ id: string; name: string } | undefined>
          >();
        deferred.resolve({ id: query.payload.id, name: 'Typed' });
      }),
    );
    const bus = new QueryBus();
    bus.use(router);
    await expect(bus.dispatch(GetUser.create({ id: 't' }))).resolves.toEqual({ id: 't', name: 'Typed' });
  });

  it('supports { find } objects', async () => {
    const bus = busWith({ find: () => ({ id: 'o', name: 'Obj' }) });
    await expect(bus.dispatch(GetUser.create({ id: 'o' }))).resolves.toEqual({ id: 'o', name: 'Obj' });
  });

  it('rejects when no finder is routed', async () => {
    const error = await new QueryBus().dispatch(GetUser.create({ id: 'x' })).catch((e: unknown) => e);
    expect(isSwitchyardError(error, ErrorCode.NoHandler)).toBe(true);
  });

  it('rejects with SWITCHYARD_TIMEOUT after timeoutMs', async () => {
    const bus = busWith(() => new Promise(() => {}));
    const error = (await bus
      .dispatch(GetUser.create({ id: 'x' }), { timeoutMs: 20 })
      .catch((e: unknown) => e)) as DispatchError;
    expect(isSwitchyardError(error, ErrorCode.Timeout)).toBe(true);
    expect(error.phase).toBe('invoke-handler');
  });

  it('applies the bus default timeout', async () => {
    const router = new QueryRouter();
    router.route(GetUser).to(() => new Promise(() => {}));
    const bus = new QueryBus({ defaultTimeoutMs: 15 });
    bus.use(router);
    await expect(bus.dispatch(GetUser.create({ id: 'x' }))).rejects.toMatchObject({
      code: ErrorCode.Timeout,
    });
  });

  it('rejects with SWITCHYARD_ABORTED when the signal aborts, also when aborted before dispatch', async () => {
    const bus = busWith(() => new Promise(() => {}));
    const controller = new AbortController();
    const pending = bus.dispatch(GetUser.create({ id: 'x' }), { signal: controller.signal });
    controller.abort(new Error('user left'));
    await expect(pending).rejects.toMatchObject({ code: ErrorCode.Aborted });
    await expect(
      bus.dispatch(GetUser.create({ id: 'x' }), { signal: controller.signal }),
    ).rejects.toMatchObject({
      code: ErrorCode.Aborted,
    });
  });

  it('bounds a dispatch by its timeout even while the producer is still blocked sending', async () => {
    let releaseSend: (() => void) | undefined;
    const stuck: MessageProducer = {
      capabilities: { replies: true, confirmsHandling: false, durable: false },
      produce: () =>
        new Promise<void>((_resolve, reject) => {
          releaseSend = () => reject(new Error('send gave up later'));
        }),
      close: async () => {},
    };
    const router = new QueryRouter();
    router.route(GetUser).to(stuck);
    const bus = new QueryBus();
    bus.use(router);
    const started = Date.now();
    await expect(bus.dispatch(GetUser.create({ id: 'x' }), { timeoutMs: 30 })).rejects.toMatchObject({
      code: ErrorCode.Timeout,
    });
    expect(Date.now() - started).toBeLessThan(1_000);
    releaseSend?.(); // the late send failure must not surface as an unhandled rejection
    await new Promise((resolve) => setTimeout(resolve, 10));
  });

  it('passes a finder rejection through finalize as a dispatch error', async () => {
    const bus = busWith(async () => {
      throw new RangeError('db down');
    });
    const seen: unknown[] = [];
    bus.attach('finalize', (context) => seen.push(context.error), 0);
    const error = (await bus.dispatch(GetUser.create({ id: 'x' })).catch((e: unknown) => e)) as DispatchError;
    expect(error.cause).toBeInstanceOf(RangeError);
    expect(seen[0]).toBeInstanceOf(RangeError);
  });

  it('resolves with the result of an async finder also when listeners run after it', async () => {
    // The bus normally reads the result from the finder's promise as the last step of the chain;
    // here a listener (sync, then async) runs after it, and the result must still arrive.
    for (const after of [() => undefined, async () => undefined]) {
      const bus = busWith(async (query) => ({
        id: (query as { payload: { id: string } }).payload.id,
        name: 'Ada',
      }));
      const order: string[] = [];
      bus.attach('dispatch', () => order.push('after the finder'), -10);
      bus.attach('dispatch', after, -20);
      bus.attach('finalize', (context) => order.push(`finalize sees ${JSON.stringify(context.result)}`), 0);
      expect(await bus.dispatch(GetUser.create({ id: 'u2' }))).toEqual({ id: 'u2', name: 'Ada' });
      expect(order).toEqual(['after the finder', 'finalize sees {"id":"u2","name":"Ada"}']);
    }
  });

  it('resolves with the value of a finder that returns a non-native thenable', async () => {
    const bus = busWith(() => ({
      // biome-ignore lint/suspicious/noThenProperty: a hand-written thenable is the point of the test
      then(resolve: (value: unknown) => void) {
        resolve({ id: 't', name: 'thenable' });
      },
    }));
    expect(await bus.dispatch(GetUser.create({ id: 't' }))).toEqual({ id: 't', name: 'thenable' });
  });

  it('shows the result to finalize listeners', async () => {
    const bus = busWith(() => ({ id: '1', name: 'x' }));
    const seen: unknown[] = [];
    bus.attach('finalize', (context) => seen.push(context.result), 0);
    await bus.dispatch(GetUser.create({ id: '1' }));
    expect(seen).toEqual([{ id: '1', name: 'x' }]);
  });
});
