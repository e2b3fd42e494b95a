import { ConfigurationError, TransportError } from '@switchyard/core';
import { type Context, Router } from 'zeromq';
import { ReceiveLoop } from './receive-loop.ts';
import { isCurveKey, z85Decode, z85Encode } from './z85.ts';

/** The endpoint libzmq asks for authentication (ZAP, ZeroMQ RFC 27); one handler per context. */
export const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';

/** One authentication decision of a {@link ZapHandler}. */
export interface ZapDecision {
  /** Whether the client was admitted. */
  readonly allowed: boolean;
  /** The client's address as libzmq reports it, e.g. `127.0.0.1`. */
  readonly address: string;
  /** The security mechanism the client used, e.g. `CURVE`. */
  readonly mechanism: string;
  /** The client's CURVE public key (Z85), when the mechanism is CURVE. */
  readonly clientKey: string | undefined;
}

/** Options of the {@link ZapHandler}. */
export interface ZapHandlerOptions {
  /** Z85 CURVE public keys of the clients (producers) that may connect. Any other client is refused. */
  readonly allowedClientKeys: readonly string[];
  /**
   * The ZeroMQ context whose sockets this handler authenticates. A context has at most one handler,
   * so a consumer with an allow-list uses a context of its own.
   * @default the global zeromq context
   */
  readonly context?: Context | undefined;
  /** Called after each decision, e.g. to log refused clients. An exception it throws goes to `onError`. @default undefined */
  readonly onDecision?: ((decision: ZapDecision) => void) | undefined;
  /**
   * Called when serving failed: a request that could not be received or answered, or an
   * `onDecision` that threw. The handler keeps serving either way.
   * @default undefined — failures are written to `console.error`
   */
  readonly onError?: ((error: unknown) => void) | undefined;
}

/**
 * A ZAP handler that admits only CURVE clients whose public key is on an allow-list. libzmq asks it
 * during every handshake on a CURVE server socket of the same context; a refused client never gets
 * a message through (its handshake fails with an authentication error).
 *
 * The {@link ZeroMQConsumer} starts one for you when its `curve.allowedClientKeys` is a list; use this
 * class directly only for sockets of your own.
 *
 * It never dies silently and fails closed: a failure while serving goes to `onError` and the
 * handler serves on (handshakes that arrived meanwhile wait for their answer). Once it is closed,
 * handshakes on sockets that enforce the ZAP domain (`zapEnforceDomain`, as the consumer's do) are
 * refused.
 *
 * @example
 * const context = new zmq.Context();
 * const zap = new ZapHandler({ context, allowedClientKeys: [client.publicKey] });
 * await zap.start();
 * const pull = new zmq.Pull({ context, curveServer: true, curveSecretKey: server.secretKey });
 */
export class ZapHandler {
  readonly #allowed: ReadonlySet<string>;
  readonly #context: Context | undefined;
  readonly #onDecision: ((decision: ZapDecision) => void) | undefined;
  readonly #onError: (error: unknown) => void;
  #socket: Router | undefined;
  #loop: ReceiveLoop | undefined;

  constructor(options: ZapHandlerOptions) {
    const allowed = new Set<string>();
    for (const key of options.allowedClientKeys) {
      if (!isCurveKey(key)) {
        throw new ConfigurationError('allowedClientKeys must hold 40-character Z85 CURVE public keys');
      }
      allowed.add(Buffer.from(z85Decode(key)!).toString('hex'));
    }
    this.#allowed = allowed;
    this.#context = options.context;
    this.#onDecision = options.onDecision;
    this.#onError = options.onError ?? logToConsole;
  }

  /** Binds the handler in its context; the CURVE server sockets must bind after this resolved. */
  async start(): Promise<void> {
    if (this.#socket !== undefined) return;
    const socket = new Router({
      linger: 0,
      ...(this.#context === undefined ? {} : { context: this.#context }),
    });
    this.#socket = socket;
    await socket.bind(ZAP_ENDPOINT);
    this.#loop = new ReceiveLoop(socket, {
      onMessage: (frames) => {
        const reply = this.#decide(frames);
        return reply === undefined ? undefined : socket.send(reply).catch(this.#failedToAnswer);
      },
      onFailure: (cause) => this.#report(new TransportError('The ZAP handler could not receive', { cause })),
    });
  }

  /** Stops answering; handshakes after this fail. */
  async close(): Promise<void> {
    const socket = this.#socket;
    if (socket === undefined) return;
    this.#socket = undefined;
    socket.close();
    await this.#loop?.done;
  }

  readonly #failedToAnswer = (cause: unknown): void => {
    if (this.#socket === undefined) return; // closed while answering: that handshake fails closed
    this.#report(new TransportError('The ZAP handler could not answer a handshake', { cause }));
  };

  #report(error: unknown): void {
    try {
      this.#onError(error);
    } catch {
      // A failing error hook must not stop authentication.
    }
  }

  /** Frames: routing id, empty, version, request id, domain, address, identity, mechanism, credentials… */
  #decide(frames: Buffer[]): (Buffer | string)[] | undefined {
    const [routingId, delimiter, version, requestId, , address, , mechanism, credential] = frames;
    if (routingId === undefined || delimiter === undefined || requestId === undefined) return undefined;
    const head = [routingId, delimiter, '1.0', requestId];
    if (version?.toString() !== '1.0') return [...head, '400', 'Unsupported ZAP version', '', ''];
    const curve = mechanism?.toString() === 'CURVE' && credential?.length === 32;
    const allowed = curve && this.#allowed.has(credential.toString('hex'));
    const clientKey = curve ? z85Encode(credential) : undefined;
    try {
      this.#onDecision?.({
        allowed,
        address: address?.toString() ?? '',
        mechanism: mechanism?.toString() ?? '',
        clientKey,
      });
    } catch (error) {
      // A failing hook must not stop authentication; it is reported like any other failure.
      this.#report(error);
    }
    return allowed
      ? [...head, '200', 'OK', clientKey ?? '', '']
      : [...head, '400', 'Client key not allowed', '', ''];
  }
}

function logToConsole(error: unknown): void {
  console.error('[switchyard] ZapHandler:', error);
}
