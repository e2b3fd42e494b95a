import { describe, expect, it } from 'vitest';
import { CommandBus } from './command-bus.ts';
import { defineCommand } from './definitions.ts';
import { type DispatchError, ErrorCode, isSwitchyardError } from './errors.ts';
import type { AnyMessage } from './message.ts';
import { CommandRouter } from './plugins/command-router.ts';
import { ServiceLocatorPlugin } from './plugins/service-locator-plugin.ts';

const Register = defineCommand<{ email: string }>('Register');

describe('CommandBus', () => {
  it('resolves after the async handler finished', async () => {
    const done: string[] = [];
    const router = new CommandRouter();
    router.route(Register).to(async (command) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      done.push(command.payload.email);
    });
    const bus = new CommandBus();
    bus.use(router);
    await bus.dispatch(Register.create({ email: 'a@b.c' }));
    expect(done).toEqual(['a@b.c']);
  });

  it('rejects with SWITCHYARD_NO_HANDLER when nothing is routed', async () => {
    const bus = new CommandBus();
    const error = (await bus
      .dispatch(Register.create({ email: 'x' }))
      .catch((e: unknown) => e)) as DispatchError;
    expect(isSwitchyardError(error, ErrorCode.NoHandler)).toBe(true);
    expect(error.message).toContain('No handler is routed for command "Register"');
  });

  it('invokes { handle } objects through the default strategy, and not once it is off', async () => {
    const seen: AnyMessage[] = [];
    const handler = {
      prefix: 'h:',
      handle(command: AnyMessage) {
        seen.push(command);
        return this.prefix;
      },
    };
    const router = new CommandRouter();
    router.route(Register).to(handler);
    const bus = new CommandBus();
    bus.use(router);
    await bus.dispatch(Register.create({ email: 'x' }));
    expect(seen).toHaveLength(1);

    const bare = new CommandBus({ handlerObjects: false });
    bare.use(router);
    const error = await bare.dispatch(Register.create({ email: 'x' })).catch((e: unknown) => e);
    expect(isSwitchyardError(error, ErrorCode.NoHandler)).toBe(true);
    expect((error as Error).message).toContain('could not be invoked');
  });

  it('resolves string handler ids lazily through the service locator', async () => {
    const built: string[] = [];
    const handled: string[] = [];
    const container = {
      get(id: string) {
        built.push(id);
        return id === 'register' ? (command: AnyMessage) => handled.push(command.name) : undefined;
      },
    };
    const router = new CommandRouter();
    router.route(Register).to('register');
    router.route('Other').to('missing');
    const bus = new CommandBus();
    bus.use(router);
    bus.use(new ServiceLocatorPlugin(container));
    expect(built).toEqual([]);
    await bus.dispatch(Register.create({ email: 'x' }));
    expect(built).toEqual(['register']);
    expect(handled).toEqual(['Register']);
    const error = await bus.dispatchRaw({ name: 'Other' }).catch((e: unknown) => e);
    expect(isSwitchyardError(error, ErrorCode.NoHandler)).toBe(true);
    expect((error as Error).message).toContain('service id "missing"');
  });

  it('supports async resolvers', async () => {
    const handled: string[] = [];
    const router = new CommandRouter();
    router.route(Register).to('register');
    const bus = new CommandBus();
    bus.use(router);
    bus.use(new ServiceLocatorPlugin(async () => (command: AnyMessage) => handled.push(command.id)));
    const command = Register.create({ email: 'x' });
    await bus.dispatch(command);
    expect(handled).toEqual([command.id]);
  });

  it('wraps a handler error with HANDLER_FAILED in the invoke-handler phase', async () => {
    const router = new CommandRouter();
    router.route(Register).to(() => {
      throw new TypeError('bad email');
    });
    const bus = new CommandBus();
    bus.use(router);
    const error = (await bus
      .dispatch(Register.create({ email: 'x' }))
      .catch((e: unknown) => e)) as DispatchError;
    expect(error.code).toBe(ErrorCode.HandlerFailed);
    expect(error.phase).toBe('invoke-handler');
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  it('can detach a plugin', async () => {
    const router = new CommandRouter();
    router.route(Register).to(() => {});
    const bus = new CommandBus();
    const off = bus.use(router);
    await bus.dispatch(Register.create({ email: 'x' }));
    off();
    await expect(bus.dispatch(Register.create({ email: 'x' }))).rejects.toMatchObject({
      code: ErrorCode.NoHandler,
    });
  });
});
