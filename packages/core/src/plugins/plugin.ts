import type { DispatchContext } from '../dispatch-context.ts';
import { ConfigurationError } from '../errors.ts';
import type { BusKind, MessageBus } from '../message-bus.ts';
import type { BusEvent, Listener, ListenerHandle } from '../pipeline.ts';

/** A plugin attaches listeners to a bus and removes them again. Attach one with `bus.use(plugin)`. */
export interface Plugin {
  attachToBus(bus: MessageBus): void;
  detachFromBus(bus: MessageBus): void;
}

/**
 * Base class for plugins: `listen` records handles per bus so `detachFromBus` removes exactly what
 * this plugin attached to that bus. One instance may serve several buses.
 */
export abstract class AbstractPlugin implements Plugin {
  readonly #handles = new Map<MessageBus, ListenerHandle[]>();

  abstract attachToBus(bus: MessageBus): void;

  detachFromBus(bus: MessageBus): void {
    for (const handle of this.#handles.get(bus) ?? []) bus.detach(handle);
    this.#handles.delete(bus);
  }

  /** Attaches `listener` to `bus` and remembers it for {@link detachFromBus}. */
  protected listen(
    bus: MessageBus,
    event: BusEvent,
    listener: Listener<DispatchContext>,
    priority: number,
  ): void {
    const handle = bus.attach(event, listener, priority);
    const handles = this.#handles.get(bus);
    if (handles === undefined) this.#handles.set(bus, [handle]);
    else handles.push(handle);
  }

  /** Throws a ConfigurationError unless `bus` is one of `kinds`. */
  protected requireBus(bus: MessageBus, ...kinds: BusKind[]): void {
    if (!kinds.includes(bus.kind)) {
      throw new ConfigurationError(
        `${this.constructor.name} works on ${kinds.join('/')} buses, not on a ${bus.kind} bus`,
      );
    }
  }
}
