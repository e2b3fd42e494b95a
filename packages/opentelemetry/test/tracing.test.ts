import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { type AnyMessage, CAUSATION_ID, CORRELATION_ID, receivedFrom, TRACEPARENT } from '@switchyard/core';
import { migrate } from '@switchyard/postgres';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTraceTree } from '../src/index.ts';
import { RemoteProcess, type RemoteState } from './harness/remote-process.ts';
import { FailOrder, GetStock, PlaceOrder, startLocalSide, startRemoteSide } from './harness/scenario.ts';
import { asTreeSpan, type PlainSpan, setupTelemetry, toPlain } from './harness/telemetry.ts';
import { PG_URL, REDIS_URL, schemaOf, type TransportName, transportKit } from './harness/transports.ts';

const TRANSPORTS: TransportName[] = ['in-memory', 'http', 'zeromq', 'bullmq', 'postgres'];

async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1_000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

async function withPool<T>(use: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
  try {
    return await use(pool);
  } finally {
    await pool.end();
  }
}

describe.each(TRANSPORTS)('tracing over %s', (transport) => {
  const prefix = `sy-otel-${randomUUID().slice(0, 8)}`;
  let telemetry: ReturnType<typeof setupTelemetry>;
  let local: Awaited<ReturnType<typeof startLocalSide>>;
  let remote: { address: string; state(): Promise<RemoteState>; close(): Promise<void> };
  // Which process a span comes from: the remote service runs in a child process, except in-memory.
  const separateProcess = transport !== 'in-memory';

  beforeAll(async () => {
    if (transport === 'postgres') await withPool((pool) => migrate(pool, { schema: schemaOf(prefix) }));
    telemetry = setupTelemetry();
    const kit = transportKit(transport, prefix);
    local = await startLocalSide(kit);
    if (separateProcess) remote = await RemoteProcess.start(transport, local.backAddress, prefix);
    else {
      const seen: Record<string, AnyMessage> = {};
      const side = await startRemoteSide(kit, local.backAddress, (label, message) => {
        seen[label] = message;
      });
      remote = { address: side.address, close: side.close, state: async () => ({ spans: [], seen }) };
    }
    local.connect(remote.address);
  });

  afterAll(async () => {
    await local?.close();
    await remote?.close();
    await telemetry?.teardown();
    if (transport === 'bullmq') await deleteKeys(prefix);
    if (transport === 'postgres')
      await withPool((pool) => pool.query(`DROP SCHEMA "${schemaOf(prefix)}" CASCADE`));
  });

  /** Every finished span of both processes. */
  async function allSpans(): Promise<PlainSpan[]> {
    const mine = telemetry.exporter.getFinishedSpans().map((span) => toPlain(span, 'local'));
    return [...mine, ...(await remote.state()).spans];
  }

  it('follows one trace from the sender’s dispatch through the remote handler to the event it dispatches', async () => {
    const root = PlaceOrder.create({ n: 1 });
    await local.commands.dispatch(root);
    await local.whenShipped;
    const byName = await waitFor(async () => {
      const spans = await allSpans();
      const rootSpan = spans.find(
        (s) => s.attributes['messaging.message.id'] === root.id && s.kind === SpanKind.INTERNAL,
      );
      if (rootSpan === undefined) return undefined;
      const trace = spans.filter((s) => s.traceId === rootSpan.traceId);
      return trace.some((s) => s.name === 'dispatch ShipOrder') &&
        trace.some((s) => s.name === 'process PlaceOrder')
        ? new Map(trace.map((s) => [s.name, s]))
        : undefined;
    }, 'the whole trace');
    console.log(`${transport}:\n${formatTraceTree([...byName.values()].map(asTreeSpan))}`);

    const span = (name: string) => {
      const found = byName.get(name);
      expect(found, name).toBeDefined();
      return found!;
    };
    const chain: [string, SpanKind, string | undefined, 'local' | 'remote'][] = [
      ['dispatch PlaceOrder', SpanKind.INTERNAL, undefined, 'local'],
      ['send PlaceOrder', SpanKind.PRODUCER, 'dispatch PlaceOrder', 'local'],
      ['process PlaceOrder', SpanKind.CONSUMER, 'send PlaceOrder', 'remote'],
      ['dispatch OrderPlaced', SpanKind.INTERNAL, 'process PlaceOrder', 'remote'],
      ['send OrderPlaced', SpanKind.PRODUCER, 'dispatch OrderPlaced', 'remote'],
      ['process OrderPlaced', SpanKind.CONSUMER, 'send OrderPlaced', 'local'],
      ['dispatch ShipOrder', SpanKind.INTERNAL, 'process OrderPlaced', 'local'],
    ];
    for (const [name, kind, parent, side] of chain) {
      const s = span(name);
      expect(s.kind, name).toBe(kind);
      expect(s.parentSpanId, `${name}'s parent`).toBe(parent === undefined ? undefined : span(parent).spanId);
      if (separateProcess) expect(s.process, name).toBe(side);
      expect(s.status.code, name).toBe(SpanStatusCode.UNSET);
      expect(s.attributes['switchyard.outcome'], name).toBe('ok');
      expect(s.attributes['messaging.message.conversation_id'], name).toBe(root.id);
    }
    expect(byName.size).toBe(chain.length);
    expect(span('send PlaceOrder').attributes).toMatchObject({
      'messaging.system': transport,
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
      'messaging.destination.name': 'PlaceOrder',
      'messaging.message.id': root.id,
      'switchyard.message.name': 'PlaceOrder',
      'switchyard.message.kind': 'command',
    });
    expect(span('process PlaceOrder').attributes).toMatchObject({
      'messaging.system': transport,
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'PlaceOrder',
      'messaging.message.id': root.id,
      'switchyard.message.kind': 'command',
    });
    const event = span('process OrderPlaced');
    expect(event.attributes).toMatchObject({
      'messaging.system': transport,
      'messaging.operation.type': 'process',
      'switchyard.message.kind': 'event',
      'switchyard.causation_id': root.id,
    });
    expect(span('dispatch PlaceOrder').attributes).toMatchObject({
      'messaging.system': 'switchyard',
      'messaging.operation.name': 'dispatch',
      'switchyard.bus': 'command',
    });
    // The envelope carried the W3C trace context of the send span.
    const arrived = (await remote.state()).seen['remote PlaceOrder']!;
    expect(arrived.metadata[TRACEPARENT]).toBe(
      `00-${span('send PlaceOrder').traceId}-${span('send PlaceOrder').spanId}-01`,
    );
  });

  it('carries correlation and causation ids across two hops', async () => {
    const seenBefore = local.seen.get('local ShipOrder');
    const root = PlaceOrder.create({ n: 2 });
    await local.commands.dispatch(root);
    const ship = await waitFor(() => {
      const found = local.seen.get('local ShipOrder');
      return found !== seenBefore && found?.payload !== undefined && (found.payload as { n: number }).n === 2
        ? found
        : undefined;
    }, 'ShipOrder of the second order');
    const arrived = (await remote.state()).seen['remote PlaceOrder']!;
    expect(arrived.id).toBe(root.id);
    expect(receivedFrom(arrived)).toBe(transport);
    const event = local.seen.get('local OrderPlaced')!;
    expect(receivedFrom(event)).toBe(transport);
    expect([event.metadata[CORRELATION_ID], event.metadata[CAUSATION_ID]]).toEqual([root.id, root.id]);
    expect([ship.metadata[CORRELATION_ID], ship.metadata[CAUSATION_ID]]).toEqual([root.id, event.id]);
  });

  it('marks the span of a failing remote handler with its error code', async () => {
    const command = FailOrder.create({ n: 3 });
    const outcome = await local.commands.dispatch(command).then(
      () => undefined,
      (error: unknown) => error,
    );
    const spans = await waitFor(async () => {
      const all = await allSpans();
      return all.some((s) => s.name === 'process FailOrder') ? all : undefined;
    }, 'the process span of FailOrder');
    const processed = spans.find((s) => s.name === 'process FailOrder')!;
    const sent = spans.find((s) => s.name === 'send FailOrder')!;
    expect(processed.parentSpanId).toBe(sent.spanId);
    expect(processed.traceId).toBe(sent.traceId);
    expect(processed.status.code).toBe(SpanStatusCode.ERROR);
    expect(processed.status.message).toContain('out of stock');
    expect(processed.attributes).toMatchObject({
      'error.type': 'OUT_OF_STOCK',
      'switchyard.outcome': 'handler',
      'messaging.message.id': command.id,
    });
    if (transport === 'http') {
      // HTTP confirms handling: the sender sees the remote failure, and so do its spans.
      expect(outcome).toMatchObject({ remoteCode: 'OUT_OF_STOCK' });
      expect(sent.status.code).toBe(SpanStatusCode.ERROR);
      expect(sent.attributes).toMatchObject({
        'error.type': 'OUT_OF_STOCK',
        'switchyard.remote_code': 'OUT_OF_STOCK',
      });
    }
  });

  it('traces a query to the remote finder and its reply', async () => {
    const query = GetStock.create({ n: 4 });
    await expect(local.queries.dispatch(query, { timeoutMs: 5_000 })).resolves.toEqual({ stock: 40 });
    const spans = await waitFor(async () => {
      const all = await allSpans();
      return all.some((s) => s.name === 'process GetStock') && all.some((s) => s.name === 'send GetStock')
        ? all
        : undefined;
    }, 'the spans of GetStock');
    const dispatched = spans.find((s) => s.name === 'dispatch GetStock')!;
    const sent = spans.find((s) => s.name === 'send GetStock')!;
    const processed = spans.find((s) => s.name === 'process GetStock')!;
    expect(sent.parentSpanId).toBe(dispatched.spanId);
    expect(processed.parentSpanId).toBe(sent.spanId);
    expect(processed.traceId).toBe(dispatched.traceId);
    expect(dispatched.attributes['switchyard.bus']).toBe('query');
    expect(processed.attributes).toMatchObject({
      'switchyard.message.kind': 'query',
      'switchyard.outcome': 'ok',
    });
  });
});
