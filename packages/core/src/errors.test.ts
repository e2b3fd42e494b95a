import { describe, expect, it } from 'vitest';
import {
  DispatchError,
  ErrorCode,
  isSwitchyardError,
  NoHandlerError,
  RemoteError,
  SwitchyardError,
  TimeoutError,
  toRemoteErrorInfo,
} from './errors.ts';

describe('errors', () => {
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
