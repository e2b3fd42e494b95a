import type { MessageDefinition } from '../definitions.ts';
import { ConfigurationError } from '../errors.ts';
import type { TransportDefinition } from './transport-definition.ts';

/** The route target that means "handled in this process, no transport". */
export const LOCAL = 'local';

/**
 * Routing as plain data: message name → transport name (an event may name several). `'local'`
 * means in this process. Read it from a file or an environment variable with {@link parseRoutes};
 * moving a message type to another transport is then a configuration change.
 *
 * @example
 * const routes: RouteTable = { RegisterUser: 'durable', GetUser: 'users-http', UserRegistered: 'local' };
 */
export type RouteTable = Readonly<Record<string, string | readonly string[]>>;

/** The names of the transports in `T`, and `'local'`. */
export type TransportName<T> = (keyof T & string) | typeof LOCAL;

/** The names of the transports in `T` that carry replies (can take queries), and `'local'`. */
export type ReplyingTransportName<T> =
  | { [K in keyof T & string]: T[K] extends TransportDefinition<true> ? K : never }[keyof T & string]
  | typeof LOCAL;

/**
 * One route written in code, checked by the compiler: a query can only name a transport that
 * carries replies, and every name must be one of `transports`.
 *
 * @example
 * routes: [[RegisterUser, 'durable'], [GetUser, 'users'], [UserRegistered, ['local']]]
 */
export type TypedRoute<T> =
  | readonly [MessageDefinition<'query'>, ReplyingTransportName<T>]
  | readonly [MessageDefinition<'command'>, TransportName<T>]
  | readonly [MessageDefinition<'event'>, TransportName<T> | readonly TransportName<T>[]];

/**
 * Reads a {@link RouteTable} from JSON (an environment variable, a file's contents). Empty or
 * `undefined` gives `{}`, so `{ ...defaults, ...parseRoutes(process.env.SWITCHYARD_ROUTES) }`
 * works whether the variable is set or not. Throws `ConfigurationError` for anything that is not an
 * object of strings (or string arrays); whether the names exist is checked by `createSwitchyard`.
 *
 * @param source what to call the input in errors, e.g. `"SWITCHYARD_ROUTES"`. @default "routes"
 * @example
 * // SWITCHYARD_ROUTES='{"GetUser":"zeromq"}' node app.js
 * const routes = { ...defaultRoutes, ...parseRoutes(process.env.SWITCHYARD_ROUTES, 'SWITCHYARD_ROUTES') };
 */
export function parseRoutes(json: string | undefined, source = 'routes'): RouteTable {
  if (json === undefined || json.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new ConfigurationError(`${source} is not valid JSON: ${(error as Error).message}`);
  }
  return checkRouteTable(parsed, source);
}

/** Checks that `value` is a {@link RouteTable}: an object of transport names or arrays of them. */
export function checkRouteTable(value: unknown, source = 'routes'): RouteTable {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigurationError(
      `${source} must be an object of message name → transport name, e.g. {"GetUser":"http"}`,
    );
  }
  for (const [name, target] of Object.entries(value)) {
    const names = typeof target === 'string' ? [target] : target;
    if (!Array.isArray(names) || names.length === 0 || !names.every(isName)) {
      throw new ConfigurationError(
        `${source}: the route of "${name}" must be a transport name or a non-empty array of them, got ${JSON.stringify(target)}`,
      );
    }
  }
  return value as RouteTable;
}

function isName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}
