import { CommandBus, ErrorCode, isSwitchyardError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { bearerAuth, HttpConsumer } from '../src/index.ts';

describe('HttpConsumer protected mode', () => {
  const commandBus = new CommandBus();

  it('refuses to serve other hosts without auth, and says how to fix it', () => {
    let error: unknown;
    try {
      new HttpConsumer({ commandBus, host: '0.0.0.0', port: 0 });
    } catch (caught) {
      error = caught;
    }
    expect(isSwitchyardError(error, ErrorCode.InvalidConfiguration)).toBe(true);
    expect((error as Error).message).toMatch(/bearerAuth\(token\).*auth: 'none'/s);
  });

  it("accepts an exposed host with an auth hook or an explicit auth: 'none'; loopback needs neither", async () => {
    expect(
      () => new HttpConsumer({ commandBus, host: '::', auth: bearerAuth('secret-token') }),
    ).not.toThrow();
    expect(() => new HttpConsumer({ commandBus, host: '0.0.0.0', auth: 'none' })).not.toThrow();
    const local = new HttpConsumer({ commandBus });
    const { url } = await local.start();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    await local.close();
  });
});
