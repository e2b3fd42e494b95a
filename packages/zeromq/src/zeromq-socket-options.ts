import { checkOption } from '@switchyard/core';

/** Socket tuning shared by the producer and the consumer. Every option is applied before connect/bind. */
export interface ZeroMQSocketOptions {
  /**
   * How long a closed socket may keep trying to deliver messages still queued in it (ZMQ_LINGER).
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
export interface SocketTuning {
  readonly linger: number;
  readonly heartbeatInterval: number;
  readonly heartbeatTimeout: number;
  readonly heartbeatTimeToLive: number;
}

/** Checks the tuning options (`ConfigurationError` for a bad one) and fills in the defaults. */
export function tuningOf(options: ZeroMQSocketOptions, component: string): SocketTuning {
  return {
    linger: checkOption(component, 'lingerMs', options.lingerMs, 1_000, 'count'),
    heartbeatInterval: checkOption(
      component,
      'heartbeatIntervalMs',
      options.heartbeatIntervalMs,
      10_000,
      'count',
    ),
    heartbeatTimeout: checkOption(
      component,
      'heartbeatTimeoutMs',
      options.heartbeatTimeoutMs,
      30_000,
      'count',
    ),
    heartbeatTimeToLive: Math.min(
      checkOption(component, 'heartbeatTtlMs', options.heartbeatTtlMs, 30_000, 'count'),
      6_553_500,
    ),
  };
}
