/** Socket tuning shared by the producer and the consumer. Every option is applied before connect/bind. */
export interface ZeroMQSocketOptions {
  /**
   * How long `close()` lets a socket keep trying to deliver messages still queued in it (ZMQ_LINGER).
   * Bounded, so a closed producer or consumer never keeps the process alive for longer than this.
   * @default 1_000
   */
  readonly lingerMs?: number | undefined;
  /**
   * Send a ZMTP heartbeat (PING) on each connection this often, so a dead peer is noticed even when
   * no message is flowing (ZMQ_HEARTBEAT_IVL). `0` turns heartbeats off.
   * @default 10_000
   */
  readonly heartbeatIntervalMs?: number | undefined;
  /**
   * Close a connection whose peer has not answered a heartbeat in this time (ZMQ_HEARTBEAT_TIMEOUT);
   * a connecting side then reconnects.
   * @default 30_000
   */
  readonly heartbeatTimeoutMs?: number | undefined;
  /**
   * Asks the peer to close the connection if it hears nothing from this side for this long
   * (ZMQ_HEARTBEAT_TTL, rounded down to 100 ms, at most 6_553_500). `0` sends no TTL.
   * @default 30_000
   */
  readonly heartbeatTtlMs?: number | undefined;
}

/** The zeromq.js socket options for {@link ZeroMQSocketOptions}, defaults filled in. */
export function tuningOf(options: ZeroMQSocketOptions): {
  linger: number;
  heartbeatInterval: number;
  heartbeatTimeout: number;
  heartbeatTimeToLive: number;
} {
  return {
    linger: options.lingerMs ?? 1_000,
    heartbeatInterval: options.heartbeatIntervalMs ?? 10_000,
    heartbeatTimeout: options.heartbeatTimeoutMs ?? 30_000,
    heartbeatTimeToLive: Math.min(options.heartbeatTtlMs ?? 30_000, 6_553_500),
  };
}

/** Endpoint option values: one endpoint or several. */
export type Endpoints = string | readonly string[];

/** The endpoints of an option as a list (empty when the option is absent). */
export function endpointList(endpoints: Endpoints | undefined): readonly string[] {
  if (endpoints === undefined) return [];
  return typeof endpoints === 'string' ? [endpoints] : endpoints;
}
