/**
 * Every error Switchyard raises carries a stable string `code`. Match on the code (see
 * {@link isSwitchyardError}), not on `instanceof`: a process can hold two copies of this package,
 * and an error decoded from a remote reply is not an instance of anything local.
 */
export const ErrorCode = {
  /** No handler (or no listener for a command/query) was routed or located for a message. */
  NoHandler: 'SWITCHYARD_NO_HANDLER',
  /** A handler, finder or listener threw or rejected. */
  HandlerFailed: 'SWITCHYARD_HANDLER_FAILED',
  /** Several event listeners failed while exception collection was on; see `errors`. */
  ListenerErrors: 'SWITCHYARD_LISTENER_ERRORS',
  /** A dispatch did not settle within its `timeoutMs` (or the producer's reply timeout). */
  Timeout: 'SWITCHYARD_TIMEOUT',
  /** The caller's `AbortSignal` fired before the dispatch settled. */
  Aborted: 'SWITCHYARD_ABORTED',
  /** The remote side answered with an error; `remoteName`/`remoteCode` carry what it said. */
  RemoteError: 'SWITCHYARD_REMOTE_ERROR',
  /** `dispatch` or `produce` was given something that is not a Switchyard message (build one with a definition's `create`). */
  InvalidMessage: 'SWITCHYARD_INVALID_MESSAGE',
  /** A consumer refused a message whose deadline (`switchyard.deadline`) had passed; its handler never ran. */
  DeadlineExceeded: 'SWITCHYARD_DEADLINE_EXCEEDED',
  /** Bytes from a transport are not a valid envelope (bad JSON, wrong types, unknown version, …). */
  DecodeError: 'SWITCHYARD_DECODE_ERROR',
  /** A message or reply could not be encoded (e.g. a payload with a BigInt or a cycle). */
  EncodeError: 'SWITCHYARD_ENCODE_ERROR',
  /** A payload failed the Standard Schema validator of its message definition. */
  ValidationError: 'SWITCHYARD_VALIDATION_ERROR',
  /** A body or payload is larger than the configured limit. */
  PayloadTooLarge: 'SWITCHYARD_PAYLOAD_TOO_LARGE',
  /** A route guard refused the message. */
  Unauthorized: 'SWITCHYARD_UNAUTHORIZED',
  /** Routers, plugins or producers were configured in a way that cannot work. */
  InvalidConfiguration: 'SWITCHYARD_INVALID_CONFIGURATION',
  /** `produce` was called on a producer that is closing or closed (or a consumer is shutting down). */
  ProducerClosed: 'SWITCHYARD_PRODUCER_CLOSED',
  /** The transport could not take the message (connection refused, server down, bad status, …). */
  TransportError: 'SWITCHYARD_TRANSPORT_ERROR',
  /** The producer's send queue is full; the caller should slow down or retry later. */
  Backpressure: 'SWITCHYARD_BACKPRESSURE',
} as const;

/** One of the stable error codes in {@link ErrorCode}. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/** Options accepted by every Switchyard error constructor. */
export interface SwitchyardErrorOptions {
  /** The underlying error (ES2022 `cause`). */
  cause?: unknown;
}

/**
 * Base class of every error Switchyard throws. `name` is a literal per subclass, `code` is stable
 * across versions, `cause` follows ES2022.
 */
export class SwitchyardError extends Error {
  override readonly name: string = 'SwitchyardError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: SwitchyardErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/**
 * True when `error` is a Switchyard error — recognised by its `code`, so errors from another copy of
 * this package match too. With `code`, also checks that it is that code.
 *
 * @example
 * try { await queryBus.dispatch(GetUser.create({ id })); }
 * catch (err) { if (isSwitchyardError(err, ErrorCode.Timeout)) retryLater(); else throw err; }
 */
export function isSwitchyardError(error: unknown, code?: ErrorCode): error is SwitchyardError {
  if (typeof error !== 'object' || error === null) return false;
  const candidate = (error as { code?: unknown }).code;
  if (typeof candidate !== 'string' || !CODES.has(candidate)) return false;
  return code === undefined || candidate === code;
}

/**
 * The message of anything thrown: an error's `message`, else the value as a string. An error with an
 * empty message — Node's `AggregateError` for a refused connection tried on several addresses is
 * one — is described by its inner errors, else its `code`, else its `name`, never as "".
 */
export function errorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.message !== '') return error.message;
  if (error instanceof AggregateError && Array.isArray(error.errors) && error.errors.length > 0) {
    return error.errors.map(errorMessage).join('; ');
  }
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code !== '' ? code : error.name;
}

/** `CODE: message` for a Switchyard (or any string-coded) error, else its message. */
export function describeError(error: unknown): string {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? `${code}: ${errorMessage(error)}` : errorMessage(error);
}

/** A pipeline phase, named after prooph's action-event priorities, plus `finalize`. */
export type DispatchPhase =
  | 'initialize'
  | 'detect-message-name'
  | 'route'
  | 'locate-handler'
  | 'invoke-handler'
  | 'finalize';

/**
 * The one error a failed `dispatch` rejects with. Its `code` is the code of the Switchyard error
 * that caused it (e.g. `SWITCHYARD_NO_HANDLER`, `SWITCHYARD_TIMEOUT`, `SWITCHYARD_REMOTE_ERROR`), or
 * `SWITCHYARD_HANDLER_FAILED` when a handler threw a plain error; `cause` is that error.
 */
export class DispatchError extends SwitchyardError {
  override readonly name = 'DispatchError';
  /** The name of the message that failed, or `undefined` if the pipeline never found one. */
  readonly messageName: string | undefined;
  /** The phase in which the error happened. */
  readonly phase: DispatchPhase;

  /**
   * What the remote side reported, the same on every transport: its error's `code` (e.g.
   * `SWITCHYARD_VALIDATION_ERROR`, `SWITCHYARD_NO_HANDLER` or an application code). `undefined` when
   * the failure was not remote.
   */
  get remoteCode(): string | undefined {
    return remoteOf(this.cause)?.code;
  }
  /** The remote error's `name` (e.g. `"UserNotFound"`), when the failure was remote. */
  get remoteName(): string | undefined {
    return remoteOf(this.cause)?.name;
  }
  /**
   * Validation issues, all of them: from the local validator or, for a remote validation failure,
   * as the remote validator reported them. Empty when the failure was not a validation failure.
   */
  get issues(): readonly ValidationIssue[] {
    const cause = this.cause;
    if (cause instanceof ValidationError || cause instanceof RemoteError) return cause.issues;
    return [];
  }

  constructor(cause: unknown, messageName: string | undefined, phase: DispatchPhase) {
    const code = isSwitchyardError(cause) ? cause.code : ErrorCode.HandlerFailed;
    const reason = errorMessage(cause);
    super(
      code,
      `Dispatch of ${messageName === undefined ? 'an unnamed message' : `"${messageName}"`} failed in ${phase}: ${reason}`,
      {
        cause,
      },
    );
    this.messageName = messageName;
    this.phase = phase;
  }
}

/** No handler was routed or located for a message. */
export class NoHandlerError extends SwitchyardError {
  override readonly name = 'NoHandlerError';
  constructor(message: string) {
    super(ErrorCode.NoHandler, message);
  }
}

/** Several event listeners failed while exception collection was on. */
export class ListenerErrors extends SwitchyardError {
  override readonly name = 'ListenerErrors';
  /** Every listener error, in listener order. */
  readonly errors: readonly unknown[];
  constructor(messageName: string, errors: readonly unknown[]) {
    super(ErrorCode.ListenerErrors, `${errors.length} listener(s) of "${messageName}" failed`, {
      cause: errors[0],
    });
    this.errors = errors;
  }
}

/** A dispatch did not settle in time. */
export class TimeoutError extends SwitchyardError {
  override readonly name = 'TimeoutError';
  /** The timeout that elapsed, in milliseconds (`undefined` when the remote side reported the deadline). */
  readonly timeoutMs: number | undefined;
  constructor(messageName: string, timeoutMs: number | undefined, options?: SwitchyardErrorOptions) {
    super(
      ErrorCode.Timeout,
      timeoutMs === undefined
        ? `"${messageName}" passed its deadline on the remote side`
        : `"${messageName}" did not settle within ${timeoutMs} ms`,
      options,
    );
    this.timeoutMs = timeoutMs;
  }
}

/** The caller aborted a dispatch. */
export class AbortedError extends SwitchyardError {
  override readonly name = 'AbortedError';
  constructor(messageName: string, reason?: unknown) {
    super(ErrorCode.Aborted, `"${messageName}" was aborted`, { cause: reason });
  }
}

/**
 * The error a failed reply turns into on the sending side. A remote "deadline passed" (the
 * consumer's own timer at the message's deadline, or a refusal of an expired message) is the
 * caller's timeout, so it becomes the same `TimeoutError` the caller's own timer raises — whichever
 * of the two fires first, the caller sees `SWITCHYARD_TIMEOUT`. Anything else is a {@link RemoteError}.
 */
export function errorFromReply(messageName: string, info: RemoteErrorInfo): SwitchyardError {
  if (info.code === ErrorCode.Timeout || info.code === ErrorCode.DeadlineExceeded) {
    return new TimeoutError(messageName, undefined, { cause: new RemoteError(info) });
  }
  return new RemoteError(info);
}

/** What a remote side reports about a failure; the `error` member of a failed reply. */
export interface RemoteErrorInfo {
  /** The remote error's `name`, e.g. `"UserNotFound"`. */
  readonly name: string;
  /** The remote error's message. */
  readonly message: string;
  /** The remote error's `code` if it had a string one, else `undefined`. */
  readonly code?: string | undefined;
  /** The remote stack, only when the remote side was configured to expose it. */
  readonly stack?: string | undefined;
  /** Every validation issue, when the remote failure was a validation failure. */
  readonly issues?: readonly ValidationIssue[] | undefined;
}

/** The remote handler failed; `remoteName`, `message` and `remoteCode` are what it reported. */
export class RemoteError extends SwitchyardError {
  override readonly name = 'RemoteError';
  /** The remote error's name. */
  readonly remoteName: string;
  /** The remote error's code, if any (e.g. `SWITCHYARD_NO_HANDLER` or an application code). */
  readonly remoteCode: string | undefined;
  /** The remote stack when the remote exposes stacks; never sent by default. */
  readonly remoteStack: string | undefined;
  /** The remote validator's issues (empty unless `remoteCode` is `SWITCHYARD_VALIDATION_ERROR`). */
  readonly issues: readonly ValidationIssue[];
  constructor(info: RemoteErrorInfo) {
    super(ErrorCode.RemoteError, info.message);
    this.remoteName = info.name;
    this.remoteCode = info.code;
    this.remoteStack = info.stack;
    this.issues = info.issues ?? [];
  }
}

/** What the remote side said: a remote error, or the error body a transport answered with. */
function remoteOf(cause: unknown): { readonly name: string; readonly code?: string | undefined } | undefined {
  if (cause instanceof RemoteError) return { name: cause.remoteName, code: cause.remoteCode };
  if (cause instanceof TransportError && cause.remote !== undefined) return cause.remote;
  return undefined;
}

/** Input from a transport is not a valid envelope or reply. */
export class DecodeError extends SwitchyardError {
  override readonly name = 'DecodeError';
  constructor(message: string, options?: SwitchyardErrorOptions) {
    super(ErrorCode.DecodeError, message, options);
  }
}

/** A message or reply could not be encoded for the wire. */
export class EncodeError extends SwitchyardError {
  override readonly name = 'EncodeError';
  constructor(message: string, options?: SwitchyardErrorOptions) {
    super(ErrorCode.EncodeError, message, options);
  }
}

/** Input is larger than the configured limit. */
export class PayloadTooLargeError extends SwitchyardError {
  override readonly name = 'PayloadTooLargeError';
  /** The limit that was exceeded, in bytes. */
  readonly limitBytes: number;
  constructor(limitBytes: number) {
    super(ErrorCode.PayloadTooLarge, `Body exceeds the limit of ${limitBytes} bytes`);
    this.limitBytes = limitBytes;
  }
}

/** One problem reported by a Standard Schema validator. */
export interface ValidationIssue {
  readonly message: string;
  readonly path?: readonly PropertyKey[] | undefined;
}

/** A payload failed its definition's validator. */
export class ValidationError extends SwitchyardError {
  override readonly name = 'ValidationError';
  /** The validator's issues. */
  readonly issues: readonly ValidationIssue[];
  constructor(messageName: string, issues: readonly ValidationIssue[]) {
    const first = issues[0];
    const where = first?.path && first.path.length > 0 ? ` at ${first.path.map(String).join('.')}` : '';
    super(
      ErrorCode.ValidationError,
      `Invalid payload for "${messageName}"${first ? `${where}: ${first.message}` : ''}`,
    );
    this.issues = issues;
  }
}

/** A guard refused the message (or, for a finalize guard, the query result). */
export class UnauthorizedError extends SwitchyardError {
  override readonly name = 'UnauthorizedError';
  constructor(messageName: string) {
    super(ErrorCode.Unauthorized, `Not authorized to dispatch "${messageName}"`);
  }
}

/** `dispatch` or `produce` was given a value that is not a Switchyard message. */
export class InvalidMessageError extends SwitchyardError {
  override readonly name = 'InvalidMessageError';
  constructor(message: string) {
    super(ErrorCode.InvalidMessage, message);
  }
}

/** A consumer refused a message whose deadline had passed before its handler could start. */
export class DeadlineExceededError extends SwitchyardError {
  override readonly name = 'DeadlineExceededError';
  /** The deadline that passed, in milliseconds since the Unix epoch. */
  readonly deadline: number;
  constructor(messageName: string, deadline: number) {
    super(
      ErrorCode.DeadlineExceeded,
      `"${messageName}" arrived after its deadline (${new Date(deadline).toISOString()}); its handler did not run`,
    );
    this.deadline = deadline;
  }
}

/** Routing, plugin, producer or consumer configuration that cannot work, or a lifecycle misuse. */
export class ConfigurationError extends SwitchyardError {
  override readonly name = 'ConfigurationError';
  constructor(message: string) {
    super(ErrorCode.InvalidConfiguration, message);
  }
}

/** `produce` after `close()`, or a message still in flight when a producer closed. */
export class ProducerClosedError extends SwitchyardError {
  override readonly name = 'ProducerClosedError';
  constructor(message = 'The producer is closed') {
    super(ErrorCode.ProducerClosed, message);
  }
}

/** The transport could not take a message. Adapters add the detail (status, endpoint, …). */
export class TransportError extends SwitchyardError {
  override readonly name = 'TransportError';
  /** A transport status such as an HTTP status code, when there is one. */
  readonly status: number | undefined;
  /** The remote error the transport answered with, when it sent one. */
  readonly remote: RemoteErrorInfo | undefined;
  constructor(
    message: string,
    options?: SwitchyardErrorOptions & { status?: number | undefined; remote?: RemoteErrorInfo | undefined },
  ) {
    super(ErrorCode.TransportError, message, options);
    this.status = options?.status;
    this.remote = options?.remote;
  }
}

/** The producer's bounded send queue is full. */
export class BackpressureError extends SwitchyardError {
  override readonly name = 'BackpressureError';
  constructor(message: string) {
    super(ErrorCode.Backpressure, message);
  }
}

/**
 * Serialises any thrown value into the `{ name, message, code }` shape sent in failed replies.
 * Never includes the stack unless `includeStack` is true.
 */
export function toRemoteErrorInfo(error: unknown, includeStack = false): RemoteErrorInfo {
  // A dispatch error wraps the real failure; report that, it is what the caller can act on.
  const root = error instanceof DispatchError && error.cause !== undefined ? error.cause : error;
  if (root instanceof RemoteError) {
    return {
      name: root.remoteName,
      message: root.message,
      code: root.remoteCode,
      ...(root.issues.length > 0 ? { issues: root.issues } : {}),
    };
  }
  if (root instanceof Error) {
    const code = (root as { code?: unknown }).code;
    return {
      name: root.name,
      message: root.message,
      code: typeof code === 'string' ? code : undefined,
      ...(includeStack && root.stack !== undefined ? { stack: root.stack } : {}),
      ...(root instanceof ValidationError ? { issues: root.issues } : {}),
    };
  }
  return {
    name: 'Error',
    message: typeof root === 'string' ? root : 'Non-error value thrown',
    code: undefined,
  };
}
