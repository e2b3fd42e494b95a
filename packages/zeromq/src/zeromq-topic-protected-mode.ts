import { ConfigurationError, isLoopbackHost } from '@switchyard/core';

/** The hosts of the `tcp://` endpoints (`ipc://` and `inproc://` stay on this host). */
function tcpHosts(endpoints: readonly string[]): string[] {
  return endpoints
    .filter((endpoint) => endpoint.startsWith('tcp://'))
    .map((endpoint) => endpoint.slice('tcp://'.length).replace(/:[^:\]]*$/, ''));
}

/**
 * Protected mode for a ZeroMQ topic, the rule of the ZeroMQ consumer (and core's
 * `requireAuthOffLoopback`): a `tcp://` endpoint off loopback needs `curve`, or `auth: 'none'` on
 * purpose. The publisher binds — without CURVE anyone who reaches the port reads every event; the
 * subscriber connects — without CURVE it dispatches whatever the host at the other end (or a
 * machine in between) sends. Throws `ConfigurationError` naming the options.
 */
export function requireTopicAuth(
  role: 'publisher' | 'subscriber',
  endpoints: readonly string[],
  curve: boolean,
  auth: unknown,
): void {
  if (curve || auth === 'none') return;
  const exposed = tcpHosts(endpoints).find((host) => !isLoopbackHost(host));
  if (exposed === undefined) return;
  if (role === 'publisher') {
    throw new ConfigurationError(
      `ZeroMQTopicPublisher would publish every event to unauthenticated subscribers from other hosts on "${exposed}". ` +
        'Authenticate subscribers with curve: { secretKey, allowedClientKeys }, bind a loopback address, ' +
        "or pass auth: 'none' to let anyone who can reach it subscribe, on purpose.",
    );
  }
  throw new ConfigurationError(
    `ZeroMQTopicSubscriber would dispatch unauthenticated events from another host, "${exposed}". ` +
      'Authenticate the publisher with curve: { serverPublicKey, publicKey, secretKey }, connect to a loopback address, ' +
      "or pass auth: 'none' to accept plain TCP from it, on purpose.",
  );
}
