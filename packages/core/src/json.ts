/** A value that survives `JSON.stringify` → `JSON.parse` unchanged. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Message metadata: string keys, JSON values (correlation id, causation id, trace context, …). */
export type Metadata = Readonly<Record<string, JsonValue>>;
