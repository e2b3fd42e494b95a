import { ConfigurationError } from '@switchyard/core';

/** Endpoint option values: one endpoint or several, e.g. `tcp://10.0.0.5:5555`, `ipc:///run/orders.sock`. */
export type Endpoints = string | readonly string[];

/** The endpoints a consumer bound, ports chosen by the system filled in: what `consumer.start()` resolves with. */
export interface ZeroMQBoundEndpoints {
  /** Pull endpoints, for a producer's `commandEndpoint`. */
  readonly commands: readonly string[];
  /** Router endpoints, for a producer's `queryEndpoint`. */
  readonly queries: readonly string[];
}

/** The endpoints a producer connects to: what `producer.start()` resolves with. */
export interface ZeroMQConnectedEndpoints {
  /** Where commands and events go. */
  readonly commands: readonly string[];
  /** Where queries go. */
  readonly queries: readonly string[];
}

const TRANSPORT = /^(tcp|ipc|inproc|pgm|epgm|tipc|vmci|ws|wss):\/\/./;

/**
 * The endpoints of an option as a list (empty when the option is absent). Throws
 * `ConfigurationError` for anything that is not a `transport://address` string.
 */
export function endpointList(
  endpoints: Endpoints | undefined,
  option: string,
  component: string,
): readonly string[] {
  if (endpoints === undefined) return [];
  const list = typeof endpoints === 'string' ? [endpoints] : endpoints;
  if (!Array.isArray(list)) {
    throw new ConfigurationError(`${component}: ${option} must be an endpoint string or an array of them`);
  }
  for (const endpoint of list) {
    if (typeof endpoint !== 'string' || !TRANSPORT.test(endpoint)) {
      throw new ConfigurationError(
        `${component}: ${option} must hold endpoints like "tcp://host:5555" or "ipc:///path.sock", got ${JSON.stringify(endpoint)}`,
      );
    }
  }
  return [...list];
}
