/**
 * @switchyard/opentelemetry — OpenTelemetry spans and metrics for Switchyard's buses, producers and
 * consumers, per the messaging semantic conventions, with W3C trace context in every envelope.
 *
 * @example
 * import { instrumentSwitchyard } from '@switchyard/opentelemetry';
 * const uninstall = instrumentSwitchyard(); // after the OpenTelemetry SDK is started
 *
 * @module
 */

export { ATTR, METRIC } from './attributes.ts';
export { formatTraceTree, type TraceTreeOptions, type TraceTreeSpan } from './format-trace-tree.ts';
export { instrumentSwitchyard } from './instrument-switchyard.ts';
export { SwitchyardTelemetry, type SwitchyardTelemetryOptions } from './switchyard-telemetry.ts';
