import { curveKeyPair } from 'zeromq';

/** A CURVE key pair, each key 40 characters of Z85 text. Keep `secretKey` secret; share `publicKey`. */
export interface CurveKeyPair {
  /** The public key: give it to the peers (the server's to every client, a client's to the server's allow-list). */
  readonly publicKey: string;
  /** The secret key: stays with its owner (an environment variable or a secret store, never in git). */
  readonly secretKey: string;
}

/**
 * Generates a new CURVE key pair (Curve25519) for a consumer (server) or a producer (client).
 *
 * @example
 * const server = generateCurveKeyPair(); // for the ZeroMQConsumer
 * const client = generateCurveKeyPair(); // for the ZeroMQProducer; put client.publicKey on the allow-list
 */
export function generateCurveKeyPair(): CurveKeyPair {
  const { publicKey, secretKey } = curveKeyPair();
  return { publicKey, secretKey };
}
