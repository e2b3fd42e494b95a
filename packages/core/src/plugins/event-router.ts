import type { EventDefinition } from '../definitions.ts';
import type { HandlerContext } from '../dispatch-options.ts';
import type { AnyMessage, EventMessage } from '../message.ts';
import type { MessageProducer } from '../message-producer.ts';
import { addTarget } from './route-targets.ts';
import { Router } from './router.ts';

/** An event target: a function, an `{ onEvent }` object, a service id or a producer. */
export type EventListener<M = AnyMessage> =
  | ((event: M, context: HandlerContext) => unknown)
  | { onEvent(event: M, context: HandlerContext): unknown }
  | string
  | MessageProducer;

/** The first target of an event route. */
export interface EventRoute<M> {
  /** Adds the first listener (or producer). */
  to(target: EventListener<M>): EventRouteMore<M>;
}

/** Further targets of an event route. */
export interface EventRouteMore<M> {
  /** Adds another listener (or producer); listeners run in the order they were added. */
  andTo(target: EventListener<M>): EventRouteMore<M>;
}

/** Options of one event route. */
export interface EventRouteOptions {
  /**
   * Whether an event published here through the route's producers also runs the route's local
   * listeners. Set it to `false` in a process that subscribes to the topic it publishes to, so its
   * listeners run once, on receipt.
   * @default true when every producer of the route publishes to a topic (`capabilities.fanOut`),
   * false otherwise (the listeners run in the process that receives the event)
   */
  readonly localListenersOnPublish?: boolean | undefined;
}

/**
 * Routes each event name to zero or more listeners, and optionally producers. A locally dispatched
 * event whose route has point-to-point producers goes to the producers only; its local listeners
 * run in the process that receives it. A producer that publishes to a topic (`capabilities.fanOut`)
 * is different: subscribers receive the event, and the publisher's own listeners run here too.
 * Without producers, the local listeners run here.
 *
 * @example
 * const router = new EventRouter();
 * router.route(UserRegistered).to(sendWelcomeMail).andTo(updateStats);
 * eventBus.use(router);
 */
export class EventRouter extends Router {
  readonly busKind = 'event';

  route<P>(definition: EventDefinition<P>, options?: EventRouteOptions): EventRoute<EventMessage<P>>;
  route(name: string, options?: EventRouteOptions): EventRoute<AnyMessage>;
  route(key: string | EventDefinition<unknown>, options?: EventRouteOptions): EventRoute<never> {
    const name = this.open(key);
    if (options?.localListenersOnPublish !== undefined) {
      this.targetsOf(name).localsOnPublish = options.localListenersOnPublish;
    }
    const more: EventRouteMore<never> = {
      andTo: (target) => {
        addTarget(this.targetsOf(name), target, name, 'event', false);
        return more;
      },
    };
    return {
      to: (target) => {
        addTarget(this.targetsOf(name), target, name, 'event', false);
        return more;
      },
    };
  }
}
