/** The parts of a finished span (the SDK's `ReadableSpan`) that {@link formatTraceTree} reads. */
export interface TraceTreeSpan {
  readonly name: string;
  readonly kind: number;
  readonly duration: readonly [number, number];
  readonly startTime: readonly [number, number];
  spanContext(): { readonly traceId: string; readonly spanId: string };
  /** SDK 2.x. */
  readonly parentSpanContext?: { readonly spanId: string } | undefined;
  /** SDK 1.x. */
  readonly parentSpanId?: string | undefined;
  readonly status?: { readonly code: number } | undefined;
  readonly attributes?: Readonly<Record<string, unknown>> | undefined;
}

/** Options of {@link formatTraceTree}. */
export interface TraceTreeOptions {
  /** Only the spans of this trace. @default every trace in `spans`, one tree after the other */
  readonly traceId?: string | undefined;
}

const KINDS = ['internal', 'server', 'client', 'producer', 'consumer'];
const STATUS_ERROR = 2;

/**
 * Renders finished spans (e.g. an `InMemorySpanExporter`'s `getFinishedSpans()`) as trees, one
 * line per span with its kind and duration, children indented under their parent in start order;
 * a failed span ends with `✗` and its `error.type`. A span whose parent is not among `spans` (it
 * lives in another process) starts a tree of its own.
 *
 * @example
 * console.log(formatTraceTree(exporter.getFinishedSpans()));
 * // dispatch PlaceOrder  internal  4.1 ms
 * // └─ send PlaceOrder  producer  3.8 ms
 * //    └─ process PlaceOrder  consumer  2.2 ms
 * //       └─ dispatch OrderPlaced  internal  0.3 ms
 */
export function formatTraceTree(spans: readonly TraceTreeSpan[], options: TraceTreeOptions = {}): string {
  const chosen =
    options.traceId === undefined
      ? spans
      : spans.filter((span) => span.spanContext().traceId === options.traceId);
  const ids = new Set(chosen.map((span) => span.spanContext().spanId));
  const children = new Map<string, TraceTreeSpan[]>();
  const roots: TraceTreeSpan[] = [];
  for (const span of chosen) {
    const parent = parentOf(span);
    if (parent === undefined || !ids.has(parent)) roots.push(span);
    else {
      const list = children.get(parent);
      if (list === undefined) children.set(parent, [span]);
      else list.push(span);
    }
  }
  const lines: string[] = [];
  const visit = (span: TraceTreeSpan, prefix: string, connector: string, childPrefix: string): void => {
    lines.push(`${prefix}${connector}${describe(span)}`);
    const below = sortByStart(children.get(span.spanContext().spanId) ?? []);
    below.forEach((child, index) => {
      const last = index === below.length - 1;
      visit(child, prefix + childPrefix, last ? '└─ ' : '├─ ', last ? '   ' : '│  ');
    });
  };
  for (const root of sortByStart(roots)) visit(root, '', '', '');
  return lines.join('\n');
}

function parentOf(span: TraceTreeSpan): string | undefined {
  return span.parentSpanContext?.spanId ?? span.parentSpanId;
}

function sortByStart(spans: TraceTreeSpan[]): TraceTreeSpan[] {
  return spans.sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
}

/** SpanKind.INTERNAL. */
const SPAN_KIND_INTERNAL = 0;

function describe(span: TraceTreeSpan): string {
  const ms = span.duration[0] * 1_000 + span.duration[1] / 1e6;
  const failed = span.status?.code === STATUS_ERROR;
  const errorType = span.attributes?.['error.type'];
  const mark = failed ? `  ✗ ${typeof errorType === 'string' ? errorType : 'error'}` : '';
  // Where a send or process span crossed: its transport (messaging.system), e.g. "bullmq".
  const system = span.attributes?.['messaging.system'];
  const over = span.kind !== SPAN_KIND_INTERNAL && typeof system === 'string' ? ` (${system})` : '';
  return `${span.name}${over}  ${KINDS[span.kind] ?? String(span.kind)}  ${ms.toFixed(ms < 10 ? 2 : 1)} ms${mark}`;
}
