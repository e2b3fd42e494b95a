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

/**
 * Routes each event name to zero or more listeners, and optionally producers. A locally dispatched
 * event whose route has producers goes to the producers only; its local listeners run in the
 * process that receives it. Without producers, the local listeners run here.
 *
 * @example
 * const router = new EventRouter();
 * router.route(UserRegistered).to(sendWelcomeMail).andTo(updateStats);
 * eventBus.use(router);
 */
export class EventRouter extends Router {
  readonly busKind = 'event';

  route<P>(definition: EventDefinition<P>): EventRoute<EventMessage<P>>;
  route(name: string): EventRoute<AnyMessage>;
  route(key: string | EventDefinition<unknown>): EventRoute<never> {
    const name = this.open(key);
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
