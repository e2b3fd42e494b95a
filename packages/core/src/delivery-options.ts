import { ConfigurationError } from './errors.ts';

/**
 * Per-message delivery options of one dispatch. Transports that support an option honour it; a
 * transport that does not — and a local handler — refuses the dispatch with
 * `SWITCHYARD_INVALID_CONFIGURATION`: an option is never silently ignored.
 */
export interface DeliveryOptions {
  /** Deliver no sooner than this many milliseconds from now (a delayed job). */
  readonly delayMs?: number | undefined;
  /** Order among waiting messages: 1 is the highest priority, larger numbers come later (BullMQ's scale, 1 – 2,097,152). */
  readonly priority?: number | undefined;
  /**
   * Messages with the same key are accepted once while the first is still waiting or running; a
   * duplicate dispatch resolves without adding a message.
   */
  readonly dedupeKey?: string | undefined;
}

/** The name of one delivery option. */
export type DeliveryOption = keyof DeliveryOptions;

const OPTIONS: readonly DeliveryOption[] = ['delayMs', 'priority', 'dedupeKey'];

/**
 * The delivery options given to a dispatch, checked, or `undefined` when none was given (the common
 * case costs three property reads). Throws `ConfigurationError` for a value out of range.
 */
export function deliveryOptionsOf(options: DeliveryOptions | undefined): DeliveryOptions | undefined {
  if (options === undefined) return undefined;
  const { delayMs, priority, dedupeKey } = options;
  if (delayMs === undefined && priority === undefined && dedupeKey === undefined) return undefined;
  if (delayMs !== undefined && !(typeof delayMs === 'number' && Number.isFinite(delayMs) && delayMs >= 0)) {
    throw new ConfigurationError(
      `delayMs must be a finite number of milliseconds >= 0, got ${String(delayMs)}`,
    );
  }
  if (priority !== undefined && !(Number.isInteger(priority) && priority >= 1 && priority <= 2_097_152)) {
    throw new ConfigurationError(
      `priority must be a whole number from 1 to 2,097,152, got ${String(priority)}`,
    );
  }
  if (
    dedupeKey !== undefined &&
    !(typeof dedupeKey === 'string' && dedupeKey.length > 0 && dedupeKey.length <= 256)
  ) {
    throw new ConfigurationError('dedupeKey must be a non-empty string of at most 256 characters');
  }
  const checked: { delayMs?: number; priority?: number; dedupeKey?: string } = {};
  if (delayMs !== undefined) checked.delayMs = delayMs;
  if (priority !== undefined) checked.priority = priority;
  if (dedupeKey !== undefined) checked.dedupeKey = dedupeKey;
  return Object.freeze(checked);
}

/** The options `delivery` sets that `supported` does not list. */
export function unsupportedDeliveryOptions(
  delivery: DeliveryOptions,
  supported: readonly DeliveryOption[],
): DeliveryOption[] {
  return OPTIONS.filter((option) => delivery[option] !== undefined && !supported.includes(option));
}

/** The error for delivery options a target cannot honour: `where` names it ("the HttpProducer"). */
export function deliveryOptionsRefused(
  delivery: DeliveryOptions,
  supported: readonly DeliveryOption[],
  messageName: string,
  where: string,
): ConfigurationError | undefined {
  const refused = unsupportedDeliveryOptions(delivery, supported);
  if (refused.length === 0) return undefined;
  return new ConfigurationError(
    `"${messageName}" was dispatched with ${refused.join(', ')}, which ${where} cannot honour` +
      (supported.length === 0 ? '' : ` (it supports ${supported.join(', ')})`),
  );
}
