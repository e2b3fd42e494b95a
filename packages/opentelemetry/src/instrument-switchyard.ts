import { installInstrumentation } from '@switchyard/core';
import { SwitchyardTelemetry, type SwitchyardTelemetryOptions } from './switchyard-telemetry.ts';

/**
 * Instruments every bus, producer and consumer of this process (through core's one instrumentation
 * hook): spans per the OpenTelemetry messaging conventions, W3C trace context in every envelope, and
 * metrics. Returns the function that uninstalls it. Call it once, after the OpenTelemetry SDK is set
 * up; a second call before uninstalling throws `ConfigurationError`.
 *
 * @example
 * import { NodeSDK } from '@opentelemetry/sdk-node';
 * import { instrumentSwitchyard } from '@switchyard/opentelemetry';
 *
 * new NodeSDK({ serviceName: 'orders' }).start();
 * const uninstall = instrumentSwitchyard();
 */
export function instrumentSwitchyard(options: SwitchyardTelemetryOptions = {}): () => void {
  return installInstrumentation(new SwitchyardTelemetry(options));
}
