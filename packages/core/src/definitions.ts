import type { StandardSchemaV1 } from '@standard-schema/spec';
import { ValidationError } from './errors.ts';
import type { Metadata } from './json.ts';
import {
  type AnyMessage,
  type CommandMessage,
  createMessage,
  EMPTY_METADATA,
  type EventMessage,
  freezeMessagePart,
  type Message,
  type MessageKind,
  nowIso,
  type QueryMessage,
} from './message.ts';
import { randomUuid } from './uuid.ts';

/** Options of a message definition. */
export interface DefinitionOptions<Payload> {
  /**
   * A Standard Schema validator (zod, valibot, arktype, …) for the payload. Consumers validate
   * every message of this name that arrives from a transport against it.
   * @default undefined — payloads are not validated
   */
  readonly schema?: StandardSchemaV1<unknown, Payload> | undefined;
}

/** Options for creating one message from a definition. */
export interface CreateOptions {
  /** Metadata for the message (correlation id, …). @default {} */
  readonly metadata?: Metadata | undefined;
  /** A message id to use instead of a fresh UUID (e.g. an idempotency key). @default randomUUID() */
  readonly id?: string | undefined;
}

/** What every definition has: a kind, an explicit name and an optional schema. */
export interface MessageDefinition<
  Kind extends MessageKind = MessageKind,
  Name extends string = string,
  Payload = unknown,
> {
  readonly kind: Kind;
  readonly name: Name;
  readonly schema: StandardSchemaV1<unknown, Payload> | undefined;
  /** Type-level marker of the payload type; `undefined` at run time. */
  readonly payloadType?: Payload;
}

/** A command definition; `create` builds immutable command messages. */
export interface CommandDefinition<Payload, Name extends string = string>
  extends MessageDefinition<'command', Name, Payload> {
  create(payload: Payload, options?: CreateOptions): CommandMessage<Payload, Name>;
}

/** An event definition; `create` builds immutable event messages. */
export interface EventDefinition<Payload, Name extends string = string>
  extends MessageDefinition<'event', Name, Payload> {
  create(payload: Payload, options?: CreateOptions): EventMessage<Payload, Name>;
}

/** A query definition; `create` builds query messages whose dispatch resolves to `Result`. */
export interface QueryDefinition<Payload, Result, Name extends string = string>
  extends MessageDefinition<'query', Name, Payload> {
  /** Type-level marker of the result type; `undefined` at run time. */
  readonly resultType?: Result;
  create(payload: Payload, options?: CreateOptions): QueryMessage<Payload, Result, Name>;
}

/** Any definition. */
export type AnyDefinition = MessageDefinition<MessageKind, string, unknown>;

/** The payload type of a definition or message. */
export type PayloadOf<T> =
  T extends MessageDefinition<MessageKind, string, infer P>
    ? P
    : T extends { readonly payload: infer P }
      ? P
      : never;

/** The message type a definition creates. */
export type MessageOf<D> = D extends { create(...args: never[]): infer M } ? M : never;

function define<Kind extends MessageKind, Name extends string, Payload>(
  kind: Kind,
  name: Name,
  options: DefinitionOptions<Payload> | undefined,
) {
  if (typeof name !== 'string' || name.length === 0) {
    throw new TypeError(`A ${kind} definition needs a non-empty string name`);
  }
  return Object.freeze({
    kind,
    name,
    schema: options?.schema,
    create(payload: Payload, createOptions?: CreateOptions) {
      if (createOptions === undefined) {
        // The common case without an options object to read or an init object to build; the same
        // fields in the same order as createMessage, so every message shares one hidden class.
        return freezeMessagePart({
          id: randomUuid(),
          kind,
          name,
          payload,
          metadata: EMPTY_METADATA,
          createdAt: nowIso(),
        }) as Message<Payload, Kind, Name>;
      }
      return createMessage({ kind, name, payload, metadata: createOptions.metadata, id: createOptions.id });
    },
  });
}

/**
 * Defines a command with an explicit name (never `constructor.name`: minifiers rewrite it).
 *
 * @example
 * const RegisterUser = defineCommand<{ email: string }>('RegisterUser');
 * await commandBus.dispatch(RegisterUser.create({ email: 'ada@example.com' }));
 */
export function defineCommand<Payload>(
  name: string,
  options?: DefinitionOptions<Payload>,
): CommandDefinition<Payload> {
  return define('command', name, options) as CommandDefinition<Payload>;
}

/**
 * Defines an event.
 *
 * @example
 * const UserRegistered = defineEvent<{ userId: string }>('UserRegistered');
 * await eventBus.dispatch(UserRegistered.create({ userId }));
 */
export function defineEvent<Payload>(
  name: string,
  options?: DefinitionOptions<Payload>,
): EventDefinition<Payload> {
  return define('event', name, options) as EventDefinition<Payload>;
}

/**
 * Defines a query with its payload and result types; `queryBus.dispatch` returns `Promise<Result>`.
 *
 * @example
 * const GetUser = defineQuery<{ id: string }, { id: string; email: string }>('GetUser');
 * const user = await queryBus.dispatch(GetUser.create({ id })); // typed { id, email }
 */
export function defineQuery<Payload, Result>(
  name: string,
  options?: DefinitionOptions<Payload>,
): QueryDefinition<Payload, Result> {
  return define('query', name, options) as QueryDefinition<Payload, Result>;
}

/**
 * Validates a message's payload against its definition's schema. Resolves with the message (with the
 * schema's output as payload when it differs) or rejects with a {@link ValidationError}.
 */
export async function validateMessage<M extends AnyMessage>(
  definition: AnyDefinition,
  message: M,
): Promise<M> {
  const schema = definition.schema;
  if (schema === undefined) return message;
  let result = schema['~standard'].validate(message.payload);
  if (result instanceof Promise) result = await result;
  if (result.issues !== undefined) {
    throw new ValidationError(
      message.name,
      result.issues.map((issue) => ({
        message: issue.message,
        path: issue.path?.map((segment) => (typeof segment === 'object' ? segment.key : segment)),
      })),
    );
  }
  if (result.value === message.payload) return message;
  return freezeMessagePart({ ...message, payload: result.value });
}

/** True for a message definition made by `defineCommand`, `defineEvent` or `defineQuery` (or shaped like one). */
export function isDefinition(value: unknown): value is AnyDefinition {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<AnyDefinition> & { create?: unknown };
  return (
    typeof candidate.name === 'string' &&
    (candidate.kind === 'command' || candidate.kind === 'event' || candidate.kind === 'query') &&
    typeof candidate.create === 'function' &&
    'schema' in candidate
  );
}

/** Looks definitions up by name; consumers use one to validate what arrives. */
export class DefinitionRegistry {
  readonly #byName = new Map<string, AnyDefinition>();

  constructor(definitions: Iterable<AnyDefinition> = []) {
    for (const definition of definitions) this.add(definition);
  }

  /** Adds a definition; a second, different definition under the same name is an error. */
  add(definition: AnyDefinition): this {
    const existing = this.#byName.get(definition.name);
    if (existing !== undefined && existing !== definition) {
      throw new TypeError(`Two different definitions are named "${definition.name}"`);
    }
    this.#byName.set(definition.name, definition);
    return this;
  }

  /** The definition registered under `name`, if any. */
  get(name: string): AnyDefinition | undefined {
    return this.#byName.get(name);
  }
}
