import type { CommandBus, ErrorHook, EventBus, MessageProducer, QueryBus } from '@switchyard/core';
import { afterEach, describe } from 'vitest';
import {
  buildReceivingBuses,
  buildSendingBuses,
  newRecorded,
  type Recorded,
} from './conformance-receiver.ts';
import { registerDeadlineTests } from './deadline-tests.ts';
import { registerDeliveryTests } from './delivery-tests.ts';
import { registerFailureTableTests } from './failure-table-tests.ts';
import { fixtureDefinitions } from './fixtures.ts';
import { registerLifecycleTests } from './lifecycle-tests.ts';

/** A consumer as the suite drives it: the core lifecycle every consumer has. */
export interface ConformanceConsumer {
  start(): Promise<unknown>;
  close(): Promise<void>;
  readonly inFlight: number;
}

/** A producer as the suite drives it: a `MessageProducer` with the core lifecycle. */
export interface ConformanceProducer extends MessageProducer {
  start(): Promise<unknown>;
  readonly inFlight: number;
}

/** What the consumer must be given (spread it into your consumer's options). */
export interface ConformanceConsumerSettings {
  readonly commandBus: CommandBus;
  readonly eventBus: EventBus;
  readonly queryBus: QueryBus;
  /** Validate payloads against the fixture schemas. */
  readonly definitions: typeof fixtureDefinitions;
  /** The suite records background errors here. */
  readonly onError: ErrorHook;
  readonly closeTimeoutMs: number;
  /** Present when the test needs one message handled at a time. */
  readonly concurrency?: number;
}

/** What the producer must be given (spread it into your producer's options). */
export interface ConformanceProducerSettings {
  readonly onError: ErrorHook;
  readonly closeTimeoutMs: number;
  /** How long a send may wait for the transport (e.g. for a consumer to be connected). */
  readonly sendTimeoutMs: number;
}

/** Everything `create` is given. */
export interface PairSettings {
  readonly consumer: ConformanceConsumerSettings;
  readonly producer: ConformanceProducerSettings;
  /**
   * The test needs one message in flight at a time end to end: give the consumer
   * `concurrency: 1` (already in `consumer`) and, where the producer has a limit of its own (HTTP
   * connections), set it to 1 too.
   */
  readonly oneAtATime: boolean;
}

/** What the factory returns: a producer and a consumer, not started yet. */
export interface TransportPair {
  readonly producer: ConformanceProducer;
  readonly consumer: ConformanceConsumer;
  /** Cleans up what the factory made besides the two (files, keys); runs after both closed. */
  cleanup?(): Promise<void>;
}

/** What to run the contract against. */
export interface TransportConformanceOptions {
  /** Shown in the test names, e.g. `"bullmq"`. */
  readonly name: string;
  /**
   * Creates a producer and a consumer that dispatches into the settings' buses, neither started:
   * the suite starts them (and checks that nothing happened before). Called once per test. The
   * producer must reach the consumer once both are started; pick free ports or unique queue names.
   */
  create(settings: PairSettings): Promise<TransportPair>;
  /** Per-test timeout in ms. @default 30_000 */
  readonly testTimeoutMs?: number;
  /** How many queries the concurrency test keeps in flight at once. @default 2_000 */
  readonly concurrentQueries?: number;
  /**
   * The transport tells the consumer at once when a caller aborts (HTTP: the request is cancelled;
   * ZeroMQ: a cancel frame; in-memory: the signal itself), so the remote handler's `signal` fires
   * within a second of the abort. `false` (BullMQ): it fires at the deadline instead.
   * @default true
   */
  readonly cancelsRemoteHandler?: boolean;
}

/** What `setup` returns to a test. */
export interface Setup {
  readonly recorded: Recorded;
  readonly pair: TransportPair;
  readonly sender: ReturnType<typeof buildSendingBuses>;
}

/** What a test may ask of `setup`. */
export interface SetupOptions {
  /** Start consumer and producer. @default true */
  readonly start?: boolean;
  readonly oneAtATime?: boolean;
  /** @default 5_000 */
  readonly closeTimeoutMs?: number;
}

/** The shared harness every section of the suite uses. */
export interface Harness {
  readonly options: TransportConformanceOptions;
  readonly timeout: number;
  setup(options?: SetupOptions): Promise<Setup>;
}

/**
 * Registers the transport contract as a vitest suite. Call it once per producer/consumer pair; add
 * only what is particular to your transport beside it. The sections: delivery, the
 * same-failure-same-error table, deadlines and cancellation, lifecycle.
 *
 * @example
 * describeTransportConformance({
 *   name: 'in-memory',
 *   async create({ consumer, producer }) {
 *     const channel = new InMemoryChannel();
 *     return {
 *       consumer: new InMemoryConsumer({ channel, ...consumer }),
 *       producer: new InMemoryProducer({ channel, ...producer }),
 *     };
 *   },
 * });
 */
export function describeTransportConformance(options: TransportConformanceOptions): void {
  const timeout = options.testTimeoutMs ?? 30_000;

  describe(`${options.name} transport conformance`, () => {
    const cleanups: (() => Promise<void>)[] = [];

    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    const harness: Harness = {
      options,
      timeout,
      async setup(setupOptions = {}) {
        const recorded = newRecorded();
        const buses = buildReceivingBuses(recorded);
        const oneAtATime = setupOptions.oneAtATime ?? false;
        const closeTimeoutMs = setupOptions.closeTimeoutMs ?? 5_000;
        const pair = await options.create({
          consumer: {
            ...buses,
            definitions: fixtureDefinitions,
            onError: (error, context) => recorded.consumerErrors.push({ error, context }),
            closeTimeoutMs,
            ...(oneAtATime ? { concurrency: 1 } : {}),
          },
          producer: {
            onError: (error, context) => recorded.producerErrors.push({ error, context }),
            closeTimeoutMs,
            sendTimeoutMs: 1_000,
          },
          oneAtATime,
        });
        cleanups.push(async () => {
          await pair.producer.close();
          await pair.consumer.close();
          await pair.cleanup?.();
        });
        if (setupOptions.start ?? true) {
          await pair.consumer.start();
          await pair.producer.start();
        }
        return { recorded, pair, sender: buildSendingBuses(pair.producer) };
      },
    };

    registerDeliveryTests(harness);
    registerFailureTableTests(harness);
    registerDeadlineTests(harness);
    registerLifecycleTests(harness);
  });
}
