import { describe, expect, it } from 'vitest';
import {
  DispatchError,
  describeError,
  ErrorCode,
  errorMessage,
  isSwitchyardError,
  NoHandlerError,
  RemoteError,
  SwitchyardError,
  TimeoutError,
  toRemoteErrorInfo,
} from './errors.ts';

describe('errors', () => {
  it('never describes an error as an empty string', () => {
    // What Node rejects a refused connection with when it tried several addresses (autoSelectFamily).
    const refused = (address: string) =>
      Object.assign(new Error(`connect ECONNREFUSED ${address}:6379`), { code: 'ECONNREFUSED' });
    const aggregate = Object.assign(new AggregateError([refused('::1'), refused('127.0.0.1')], ''), {
      code: 'ECONNREFUSED',
    });
    expect(errorMessage(aggregate)).toBe(
      'connect ECONNREFUSED ::1:6379; connect ECONNREFUSED 127.0.0.1:6379',
    );
    expect(describeError(aggregate)).toBe(
      'ECONNREFUSED: connect ECONNREFUSED ::1:6379; connect ECONNREFUSED 127.0.0.1:6379',
    );
    expect(errorMessage(Object.assign(new Error(''), { code: 'ECONNRESET' }))).toBe('ECONNRESET');
    expect(errorMessage(new TypeError(''))).toBe('TypeError');
    expect(errorMessage(new Error('plain'))).toBe('plain');
    expect(errorMessage('text')).toBe('text');
    expect(errorMessage(undefined)).toBe('undefined');
  });

  it('recognises errors by code, also from another copy of the package', () => {
    const foreign = Object.assign(new Error('x'), { code: 'SWITCHYARD_TIMEOUT' });
    expect(isSwitchyardError(foreign)).toBe(true);
    expect(isSwitchyardError(foreign, ErrorCode.Timeout)).toBe(true);
    expect(isSwitchyardError(foreign, ErrorCode.NoHandler)).toBe(false);
    expect(isSwitchyardError(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe(false);
    expect(isSwitchyardError('SWITCHYARD_TIMEOUT')).toBe(false);
    expect(isSwitchyardError(null)).toBe(false);
  });

  it('gives every class a literal name, a code and an ES2022 cause', () => {
    const timeout = new TimeoutError('GetUser', 50);
    expect(timeout).toBeInstanceOf(SwitchyardError);
    expect(timeout.name).toBe('TimeoutError');
    expect(timeout.timeoutMs).toBe(50);
    const dispatch = new DispatchError(timeout, 'GetUser', 'invoke-handler');
    expect(dispatch.name).toBe('DispatchError');
    expect(dispatch.code).toBe(ErrorCode.Timeout);
    expect(dispatch.cause).toBe(timeout);
    expect(new DispatchError(new Error('plain'), 'X', 'route').code).toBe(ErrorCode.HandlerFailed);
  });

  it('serialises errors for replies without stacks unless asked', () => {
    const domain = Object.assign(new Error('card declined'), { name: 'PaymentError', code: 'E_CARD' });
    expect(toRemoteErrorInfo(domain)).toEqual({
      name: 'PaymentError',
      message: 'card declined',
      code: 'E_CARD',
    });
    expect(toRemoteErrorInfo(domain, true).stack).toContain('card declined');
    const wrapped = new DispatchError(new NoHandlerError('none'), 'X', 'invoke-handler');
    expect(toRemoteErrorInfo(wrapped)).toEqual({
      name: 'NoHandlerError',
      message: 'none',
      code: ErrorCode.NoHandler,
    });
    const remote = new RemoteError({ name: 'Inner', message: 'deep', code: 'E' });
    expect(toRemoteErrorInfo(remote)).toEqual({ name: 'Inner', message: 'deep', code: 'E' });
    expect(toRemoteErrorInfo('text')).toEqual({ name: 'Error', message: 'text', code: undefined });
  });
});
