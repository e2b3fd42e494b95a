import type { RemoteErrorInfo } from '@switchyard/core';

/**
 * The body of an error answer that carries no query reply (bad input, auth, a failed command):
 * `{"error":{"name","message","code"}}`, always JSON whatever the codec.
 */
export function encodeErrorBody(error: RemoteErrorInfo): string {
  return JSON.stringify({ error });
}

/** Reads an error body written by {@link encodeErrorBody}; `undefined` for anything else. */
export function decodeErrorBody(text: string): RemoteErrorInfo | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const error = (parsed as { error?: unknown }).error;
  if (typeof error !== 'object' || error === null) return undefined;
  const { name, message, code, stack } = error as Record<string, unknown>;
  if (typeof name !== 'string') return undefined;
  return {
    name,
    message: typeof message === 'string' ? message : '',
    code: typeof code === 'string' ? code : undefined,
    ...(typeof stack === 'string' ? { stack } : {}),
  };
}
