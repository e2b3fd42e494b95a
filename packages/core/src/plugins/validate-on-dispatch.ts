import { type AnyDefinition, DefinitionRegistry, validateMessage } from '../definitions.ts';
import type { DispatchContext } from '../dispatch-context.ts';
import { type AnyMessage, isMessage, receivedFrom } from '../message.ts';
import type { MessageBus } from '../message-bus.ts';
import { Priority } from '../pipeline.ts';
import { AbstractPlugin } from './plugin.ts';

/** Where {@link ValidateOnDispatch} runs: after the name is known, before routing. */
export const VALIDATE_ON_DISPATCH_PRIORITY = Priority.route + 50_000;

/**
 * Validates each message dispatched in this process against its definition's schema before it is
 * routed, so an invalid command is refused at the sender (`SWITCHYARD_VALIDATION_ERROR`, nothing
 * sent) instead of being dead-lettered by the consumer later. Messages that arrived from a transport
 * are left alone: their consumer validated them. Definitions come from the bus (those routed on it)
 * and from the constructor. Costs nothing for a message whose definition has no schema.
 * `createSwitchyard({ validate: 'send' | 'both' })` attaches it to the three buses.
 *
 * @example
 * commandBus.use(new ValidateOnDispatch());
 */
export class ValidateOnDispatch extends AbstractPlugin {
  readonly #definitions: DefinitionRegistry | undefined;

  /** @param definitions more definitions to validate with, besides the bus's own. @default none */
  constructor(definitions?: Iterable<AnyDefinition> | DefinitionRegistry) {
    super();
    this.#definitions =
      definitions === undefined || definitions instanceof DefinitionRegistry
        ? definitions
        : new DefinitionRegistry(definitions);
  }

  attachToBus(bus: MessageBus): void {
    this.listen(bus, 'dispatch', (context) => this.#validate(bus, context), VALIDATE_ON_DISPATCH_PRIORITY);
  }

  #validate(bus: MessageBus, context: DispatchContext): void | Promise<void> {
    const message = context.message;
    const name = context.messageName;
    if (name === undefined || !isMessage(message) || receivedFrom(message) !== undefined) return;
    const definition = this.#definitions?.get(name) ?? bus.definitions.get(name);
    if (definition?.schema === undefined) return;
    return validateMessage(definition, message).then((valid: AnyMessage) => {
      context.message = valid;
    });
  }
}
