import { DispatchContext } from './dispatch-context.ts';
import type { DispatchOptions } from './dispatch-options.ts';
import { ListenerErrors, NoHandlerError } from './errors.ts';
import { isThenable } from './is-thenable.ts';
import type { AnyMessage, EventMessage } from './message.ts';
import { MessageBus } from './message-bus.ts';
import {
  isMessageProducer,
  type MessageProducer,
  produceOptions,
  refuseDeliveryOptionsLocally,
} from './message-producer.ts';
import { callHandler } from './observability/handling-scope.ts';
import { Priority } from './pipeline.ts';
import { ListenerExceptionCollectionMode } from './plugins/listener-exception-collection-mode.ts';
import { OnEventStrategy } from './plugins/on-event-strategy.ts';

/** Options of an {@link EventBus}. */
export interface EventBusOptions {
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
   * Run every listener even when one fails, then reject with one {@link ListenerErrors}
   * (same as attaching {@link ListenerExceptionCollectionMode}).
   * @default false — the first failure stops the remaining listeners
   */
  readonly collectListenerErrors?: boolean;
  /**
   * Attach {@link OnEventStrategy} so listener objects with `onEvent(event)` work as targets.
   * @default true
   */
  readonly listenerObjects?: boolean;
  /**
   * The `timeoutMs` of every dispatch that gives none (see {@link DispatchOptions}).
   * @default undefined — no timeout
   */
  readonly defaultTimeoutMs?: number | undefined;
}

/**
 * Dispatches each event to zero or more listeners, in routing order.
 *
 * @example
 * const eventBus = new EventBus();
 * const router = new EventRouter();
 * router.route(UserRegistered).to(sendWelcomeMail).andTo(updateStats);
 * eventBus.use(router);
 * await eventBus.dispatch(UserRegistered.create({ userId }));
 */
export class EventBus extends MessageBus {
  readonly kind = 'event';

  constructor(options: EventBusOptions = {}) {
    super(options.defaultTimeoutMs);
    this.correlation = options.correlation;
    this.attach('dispatch', invokeEventListeners, Priority.invokeHandler);
    if (options.listenerObjects !== false) this.use(new OnEventStrategy());
    if (options.collectListenerErrors === true) this.use(new ListenerExceptionCollectionMode());
  }

  /**
   * Resolves when every listener finished (producers: accepted the event). Rejects with a
   * {@link DispatchError}. Takes event messages only; for prooph-style raw messages use {@link dispatchRaw}.
   */
  dispatch(event: EventMessage, options?: DispatchOptions): Promise<void> {
    return this.dispatchBounded(new DispatchContext('event', event), options) as Promise<void>;
  }

  protected settle(context: DispatchContext): void {
    if (context.handled) return;
    const stuck = context.targets.find(
      (target) => typeof target !== 'function' && !isMessageProducer(target),
    );
    throw new NoHandlerError(
      `A listener of event "${context.messageName ?? 'an unnamed message'}" could not be invoked: ${
        typeof stuck === 'string'
          ? `the service id "${stuck}" was not resolved`
          : 'it is not a function, producer or { onEvent } object'
      }`,
    );
  }
}

function invokeOne(target: unknown, context: DispatchContext): unknown {
  if (typeof target === 'function') {
    refuseDeliveryOptionsLocally(context);
    return callHandler(target as Handler, context.message, context, context.correlation);
  }
  return (target as MessageProducer).produce(context.message as AnyMessage, produceOptions(context));
}

function invokeEventListeners(context: DispatchContext): void | Promise<void> {
  if (context.handled) return;
  const targets = context.targets;
  for (const target of targets) {
    if (typeof target !== 'function' && !isMessageProducer(target)) return; // settle() reports it
  }
  context.handled = true;
  if (targets.length === 0) return;
  return invokeAll(context, targets);
}

async function invokeAll(context: DispatchContext, targets: readonly unknown[]): Promise<void> {
  let errors: unknown[] | undefined;
  for (const target of targets) {
    try {
      const result = invokeOne(target, context);
      if (isThenable(result)) await result;
    } catch (error) {
      if (!context.collectListenerErrors) throw error;
      if (errors === undefined) errors = [error];
      else errors.push(error);
    }
  }
  if (errors !== undefined) throw new ListenerErrors(context.messageName ?? 'an unnamed message', errors);
}

/** A local handler as the bus calls it. */
type Handler = (message: never, context: DispatchContext) => unknown;
