import { DispatchContext } from './dispatch-context.ts';
import type { DispatchOptions } from './dispatch-options.ts';
import { NoHandlerError } from './errors.ts';
import type { AnyMessage, CommandMessage } from './message.ts';
import { MessageBus } from './message-bus.ts';
import { isMessageProducer, produceOptions, refuseDeliveryOptionsLocally } from './message-producer.ts';
import { callHandler } from './observability/handling-scope.ts';
import { Priority } from './pipeline.ts';
import { HandleCommandStrategy } from './plugins/handle-command-strategy.ts';

/** Options of a {@link CommandBus}. */
export interface CommandBusOptions {
  /**
   * Call each local handler in a handling scope, so that what it dispatches — locally or over any
   * transport — carries `correlationId` and `causationId`, and `handledMessage()` works. It costs an
   * `AsyncLocalStorage.run` per local handler call (0.4–0.8 µs on Node 24), so by default it is on
   * only once the process uses a transport (creates a producer or consumer) or installs
   * instrumentation — where messages leave the process — and off in a purely in-process app.
   * `true` turns it on regardless, `false` off.
   * @default undefined — automatic, as above
   */
  readonly correlation?: boolean | undefined;
  /**
   * Attach {@link HandleCommandStrategy} so handler objects with `handle(command)` work as targets.
   * @default true
   */
  readonly handlerObjects?: boolean;
  /**
   * The `timeoutMs` of every dispatch that gives none (see {@link DispatchOptions}).
   * @default undefined — no timeout
   */
  readonly defaultTimeoutMs?: number | undefined;
}

/**
 * Dispatches each command to exactly one handler — a function, a `{ handle }` object, a service id
 * (with a ServiceLocatorPlugin) or a MessageProducer. No handler is an error.
 *
 * @example
 * const commandBus = new CommandBus();
 * const router = new CommandRouter();
 * router.route(RegisterUser).to(async (cmd) => users.register(cmd.payload.email));
 * commandBus.use(router);
 * await commandBus.dispatch(RegisterUser.create({ email: 'ada@example.com' }));
 */
export class CommandBus extends MessageBus {
  readonly kind = 'command';

  constructor(options: CommandBusOptions = {}) {
    super(options.defaultTimeoutMs);
    this.correlation = options.correlation;
    this.attach('dispatch', invokeCommandHandler, Priority.invokeHandler);
    if (options.handlerObjects !== false) this.use(new HandleCommandStrategy());
  }

  /**
   * Resolves when the handler finished — or, for a command routed to a producer, when the transport
   * accepted it (see the producer's `capabilities.confirmsHandling`). Rejects with a
   * {@link DispatchError}; with `timeoutMs` or `signal` also with `SWITCHYARD_TIMEOUT` /
   * `SWITCHYARD_ABORTED`, and the handler's `signal` fires. Takes command messages only (a query or
   * an event does not compile); for prooph-style raw messages use {@link dispatchRaw}.
   */
  dispatch(command: CommandMessage, options?: DispatchOptions): Promise<void> {
    return this.dispatchBounded(new DispatchContext('command', command), options) as Promise<void>;
  }

  protected settle(context: DispatchContext): void {
    if (context.handled) return;
    const name = context.messageName ?? 'an unnamed message';
    throw new NoHandlerError(
      context.target === undefined
        ? `No handler is routed for command "${name}"`
        : `A handler was routed for command "${name}" but could not be invoked: ${describeUncallable(context.target)}`,
    );
  }
}

function invokeCommandHandler(context: DispatchContext): unknown {
  if (context.handled) return undefined;
  const target = context.target;
  if (typeof target === 'function') {
    refuseDeliveryOptionsLocally(context);
    context.handled = true;
    return callHandler(target as Handler, context.message, context, context.correlation);
  }
  if (isMessageProducer(target)) {
    context.handled = true;
    return target.produce(context.message as AnyMessage, produceOptions(context));
  }
  return undefined;
}

function describeUncallable(target: unknown): string {
  return typeof target === 'string'
    ? `the service id "${target}" was not resolved (attach a ServiceLocatorPlugin)`
    : 'it is not a function, a MessageProducer or a { handle } object';
}

/** A local handler as the bus calls it. */
type Handler = (message: never, context: DispatchContext) => unknown;
