import { ConfigurationError } from '../errors.ts';

/**
 * True for an address only this host can reach: `localhost`, `127.0.0.0/8`, `::1`. Wildcards
 * (`0.0.0.0`, `::`, `*`) and every other address are reachable from other hosts.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return bare === 'localhost' || bare === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

/**
 * Protected mode, the way Redis has it: a consumer that other hosts can reach must authenticate
 * its senders, or say `auth: 'none'` on purpose. Throws a `ConfigurationError` that names the
 * options when `hosts` holds a non-loopback address, `authenticated` is false and `auth` is not
 * `'none'`.
 *
 * @param component the class name in the message, e.g. `"HttpConsumer"`.
 * @param howToAuthenticate the option that adds authentication, e.g. `"auth: bearerAuth(token)"`.
 */
export function requireAuthOffLoopback(
  component: string,
  hosts: readonly string[],
  authenticated: boolean,
  auth: unknown,
  howToAuthenticate: string,
): void {
  if (authenticated || auth === 'none') return;
  const exposed = hosts.find((host) => !isLoopbackHost(host));
  if (exposed === undefined) return;
  throw new ConfigurationError(
    `${component} would accept unauthenticated messages from other hosts on "${exposed}". ` +
      `Authenticate senders with ${howToAuthenticate}, bind a loopback address, ` +
      `or pass auth: 'none' to accept anyone who can reach it, on purpose.`,
  );
}
