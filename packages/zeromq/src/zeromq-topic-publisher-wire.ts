import {
  ConfigurationError,
  checkOption,
  errorMessage,
  type OutgoingMessage,
  type ProducerWire,
  TransportError,
  type WireCapabilities,
  type WireChannel,
  type WireData,
} from '@switchyard/core';
import { Context, Publisher } from 'zeromq';
import { checkCurveServer, curveServerSocketOptions } from './curve-options.ts';
import { type ZapDecision, ZapHandler } from './zap-handler.ts';
import { endpointList } from './zeromq-endpoints.ts';
import { type SocketTuning, tuningOf } from './zeromq-socket-options.ts';
import { requireTopicAuth } from './zeromq-topic-protected-mode.ts';
import type { ZeroMQTopicPublisherOptions } from './zeromq-topic-publisher.ts';

const COMPONENT = 'ZeroMQTopicPublisher';
/**
 * Largest message a subscriber may send the publisher (ZMQ_MAXMSGSIZE): subscriptions only, a few
 * hundred bytes; a peer that sends more is disconnected before it is buffered.
 */
const MAX_SUBSCRIPTION_BYTES = 64 * 1024;

/** The zeromq.js options the Publisher socket is created with. */
interface PublisherSocketOptions extends SocketTuning {
  readonly sendHighWaterMark: number;
  readonly sendTimeout: number;
  readonly maxMessageSize: number;
  readonly curveServer?: boolean;
  readonly curveSecretKey?: string;
  readonly zapDomain?: string;
  readonly zapEnforceDomain?: boolean;
}

/** What a ZeroMQ topic can do: events only, at most once, to every subscriber. */
export const TOPIC_CAPABILITIES = Object.freeze({
  replies: false,
  confirmsHandling: false,
  durable: false,
  fanOut: true,
} as const);

/**
 * The wire under the {@link ZeroMQTopicPublisher}: a Publisher socket bound to the endpoints, each
 * event written as `[event name, envelope]`. A Publisher never blocks (ZeroMQ drops what a
 * subscriber past its high-water mark cannot take), and the socket's send timeout is 0, so a send
 * is done when it returns — a dispatch never waits on a subscriber.
 */
export class ZeroMQTopicPublisherWire implements ProducerWire<readonly string[]> {
  readonly capabilities: WireCapabilities = TOPIC_CAPABILITIES;
  /** Called with each subscriber the CURVE allow-list refused (set by the publisher). */
  onRefused: ((decision: ZapDecision) => void) | undefined;
  readonly #endpoints: readonly string[];
  readonly #options: ZeroMQTopicPublisherOptions;
  readonly #socketOptions: PublisherSocketOptions;
  #socket: Publisher | undefined;
  #zap: ZapHandler | undefined;

  /** Checks the options (`ConfigurationError` for misuse); creates nothing. */
  constructor(options: ZeroMQTopicPublisherOptions) {
    this.#endpoints = endpointList(options.endpoint, 'endpoint', COMPONENT);
    if (this.#endpoints.length === 0) {
      throw new ConfigurationError(`${COMPONENT} needs an endpoint to bind, e.g. "tcp://127.0.0.1:5560"`);
    }
    const curve = options.curve;
    checkCurveServer(COMPONENT, curve);
    requireTopicAuth('publisher', this.#endpoints, curve !== undefined, options.auth);
    this.#options = options;
    this.#socketOptions = {
      ...tuningOf(options, COMPONENT),
      sendHighWaterMark: checkOption(
        COMPONENT,
        'sendHighWaterMark',
        options.sendHighWaterMark,
        1_000,
        'count',
      ),
      sendTimeout: 0,
      maxMessageSize: MAX_SUBSCRIPTION_BYTES,
      ...curveServerSocketOptions(curve),
    };
  }

  /** Starts the ZAP handler (CURVE with an allow-list), binds, and resolves with the bound endpoints. */
  async open(channel: WireChannel): Promise<readonly string[]> {
    const curve = this.#options.curve;
    let context: Context | undefined;
    let socket: Publisher | undefined;
    const bound: string[] = [];
    try {
      if (curve !== undefined && curve.allowedClientKeys !== 'any') {
        // One ZAP handler per context: a private context keeps this allow-list to this socket.
        context = new Context();
        this.#zap = new ZapHandler({
          context,
          allowedClientKeys: curve.allowedClientKeys,
          onDecision: (decision) => {
            if (!decision.allowed) this.onRefused?.(decision);
          },
          onError: (error) => channel.report(error, 'connection'),
        });
        await this.#zap.start();
      }
      // A fresh object: zeromq.js deletes `context` from the options it is given.
      socket = new Publisher({ ...this.#socketOptions, ...(context === undefined ? {} : { context }) });
      for (const endpoint of this.#endpoints) {
        await socket.bind(endpoint);
        bound.push(socket.lastEndpoint ?? endpoint);
      }
    } catch (cause) {
      socket?.close();
      await this.#zap?.close();
      this.#zap = undefined;
      throw new TransportError(`${COMPONENT} could not bind: ${errorMessage(cause)}`, { cause });
    }
    this.#socket = socket;
    return bound;
  }

  /** Writes `[event name, envelope]` (core refused commands and queries already: `capabilities.fanOut`). */
  send(outgoing: OutgoingMessage): Promise<WireData | undefined> {
    const message = outgoing.message;
    const socket = this.#socket;
    if (socket === undefined) return Promise.reject(new TransportError(`${COMPONENT} is not bound`));
    try {
      // Send timeout 0: libzmq queues (or, for a subscriber past its high-water mark, drops) at once.
      return socket.send([message.name, outgoing.data]).then(nothing, (cause: unknown) => {
        throw sendFailed(cause);
      });
    } catch (cause) {
      return Promise.reject(sendFailed(cause));
    }
  }

  /** Closes the socket (events still queued for slow subscribers get up to `lingerMs`) and the ZAP handler. */
  async close(): Promise<void> {
    this.#socket?.close();
    await this.#zap?.close();
  }
}

function sendFailed(cause: unknown): TransportError {
  return new TransportError(`${COMPONENT}: publishing failed: ${errorMessage(cause)}`, { cause });
}

function nothing(): undefined {
  return undefined;
}
