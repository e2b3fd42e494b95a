import { describe, expect, it } from 'vitest';
import { formatTraceTree, type TraceTreeSpan } from './format-trace-tree.ts';

function span(
  name: string,
  spanId: string,
  parent: string | undefined,
  start: number,
  ms: number,
  extra: Partial<TraceTreeSpan> = {},
): TraceTreeSpan {
  return {
    name,
    kind: 0,
    startTime: [1_000, start * 1e6],
    duration: [Math.floor(ms / 1_000), (ms % 1_000) * 1e6],
    spanContext: () => ({ traceId: extra.name ?? 't1', spanId }),
    parentSpanContext: parent === undefined ? undefined : { spanId: parent },
    ...extra,
  };
}

describe('formatTraceTree', () => {
  it('nests children under their parent in start order, with kind, duration and failures', () => {
    const spans = [
      span('process B', 'c', 'b', 3, 2.5, { kind: 4 }),
      span('dispatch A', 'a', undefined, 1, 12.25),
      span('send B', 'b', 'a', 2, 4, { kind: 3 }),
      span('dispatch late', 'e', 'a', 9, 0.5),
      span('dispatch C', 'd', 'c', 4, 1, {
        status: { code: 2 },
        attributes: { 'error.type': 'OUT_OF_STOCK' },
      }),
    ];
    expect(formatTraceTree(spans)).toBe(
      [
        'dispatch A  internal  12.3 ms',
        '├─ send B  producer  4.00 ms',
        '│  └─ process B  consumer  2.50 ms',
        '│     └─ dispatch C  internal  1.00 ms  ✗ OUT_OF_STOCK',
        '└─ dispatch late  internal  0.50 ms',
      ].join('\n'),
    );
  });

  it('starts a tree for a span whose parent is elsewhere, and keeps one trace when asked', () => {
    const other: TraceTreeSpan = {
      ...span('other', 'x', undefined, 0, 1),
      spanContext: () => ({ traceId: 't2', spanId: 'x' }),
    };
    const orphan = span('process X', 'o', 'remote-parent', 5, 1, {
      kind: 4,
      parentSpanContext: undefined,
      parentSpanId: 'remote-parent',
    });
    expect(formatTraceTree([orphan, other])).toBe('other  internal  1.00 ms\nprocess X  consumer  1.00 ms');
    expect(formatTraceTree([orphan, other], { traceId: 't2' })).toBe('other  internal  1.00 ms');
  });
});
