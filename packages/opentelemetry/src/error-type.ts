import { DispatchError, isSwitchyardError } from '@switchyard/core';

/**
 * The `error.type` of a failure, as specific as it gets: the remote side's code for a remote
 * failure, the handler error's own string `code` (else its Switchyard code) for a failed handler,
 * the Switchyard code of any other Switchyard error, else the error's name, else `_OTHER`.
 */
export function errorType(error: unknown): string {
  const remote = remoteCode(error);
  if (remote !== undefined) return remote;
  if (error instanceof DispatchError) {
    const own = ownCode(error.cause);
    if (own !== undefined) return own;
  }
  if (isSwitchyardError(error)) return error.code;
  const own = ownCode(error);
  if (own !== undefined) return own;
  if (error instanceof Error) return error.name;
  return '_OTHER';
}

/** The remote side's error code, when the failure was reported by the remote side. */
export function remoteCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { remoteCode?: unknown }).remoteCode;
  return typeof code === 'string' ? code : undefined;
}

function ownCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** A one-line description for a span's status. */
export function errorDescription(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
