import { describe, expect, it } from 'vitest';
import { ErrorCode, isSwitchyardError } from '../errors.ts';
import { isLoopbackHost, requireAuthOffLoopback } from './protected-mode.ts';

describe('protected mode', () => {
  it('tells loopback addresses from addresses other hosts can reach', () => {
    for (const host of ['localhost', '127.0.0.1', '127.1.2.3', '::1', '[::1]']) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of ['0.0.0.0', '::', '*', '[::]', '10.0.0.5', 'users.internal', '128.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });

  it("refuses an exposed, unauthenticated consumer unless auth is 'none', naming the options", () => {
    let error: unknown;
    try {
      requireAuthOffLoopback('TestConsumer', ['127.0.0.1', '0.0.0.0'], false, undefined, 'auth: hook');
    } catch (caught) {
      error = caught;
    }
    expect(isSwitchyardError(error, ErrorCode.InvalidConfiguration)).toBe(true);
    expect((error as Error).message).toContain('"0.0.0.0"');
    expect((error as Error).message).toContain("auth: 'none'");
    expect((error as Error).message).toContain('auth: hook');
    expect(() => requireAuthOffLoopback('T', ['0.0.0.0'], false, 'none', 'x')).not.toThrow();
    expect(() => requireAuthOffLoopback('T', ['0.0.0.0'], true, undefined, 'x')).not.toThrow();
    expect(() => requireAuthOffLoopback('T', ['localhost'], false, undefined, 'x')).not.toThrow();
  });
});
