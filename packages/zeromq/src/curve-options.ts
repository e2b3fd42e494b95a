import { ConfigurationError } from '@switchyard/core';
import { isCurveKey } from './z85.ts';
import type { ZeroMQCurveServerOptions } from './zeromq-consumer.ts';
import type { ZeroMQCurveClientOptions } from './zeromq-producer.ts';

/** Checks the CURVE keys of a socket that binds (consumer, topic publisher); `ConfigurationError` names the bad one. */
export function checkCurveServer(component: string, curve: ZeroMQCurveServerOptions | undefined): void {
  if (curve === undefined) return;
  if (!isCurveKey(curve.secretKey)) {
    throw new ConfigurationError(
      `${component}: curve.secretKey must be a 40-character Z85 key (see generateCurveKeyPair)`,
    );
  }
  const allowed = curve.allowedClientKeys;
  if (allowed !== 'any' && !(Array.isArray(allowed) && allowed.every(isCurveKey))) {
    throw new ConfigurationError(
      `${component}: curve.allowedClientKeys must be 'any' or hold 40-character Z85 public keys`,
    );
  }
}

/** Checks the CURVE keys of a socket that connects (producer, topic subscriber). */
export function checkCurveClient(component: string, curve: ZeroMQCurveClientOptions | undefined): void {
  if (
    curve !== undefined &&
    !(isCurveKey(curve.serverPublicKey) && isCurveKey(curve.publicKey) && isCurveKey(curve.secretKey))
  ) {
    throw new ConfigurationError(
      `${component}: curve keys must be 40-character Z85 strings (see generateCurveKeyPair)`,
    );
  }
}

/**
 * The socket options of a CURVE server (consumer, topic publisher), or none without `curve`. With an
 * allow-list the ZAP domain is enforced: a handshake that cannot reach the ZAP handler is refused.
 */
export function curveServerSocketOptions(curve: ZeroMQCurveServerOptions | undefined) {
  if (curve === undefined) return {};
  return {
    curveServer: true,
    curveSecretKey: curve.secretKey,
    zapDomain: 'switchyard',
    zapEnforceDomain: curve.allowedClientKeys !== 'any',
  } as const;
}
