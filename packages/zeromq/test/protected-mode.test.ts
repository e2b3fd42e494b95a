import { CommandBus, ErrorCode, isSwitchyardError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { generateCurveKeyPair, ZeroMQConsumer } from '../src/index.ts';

describe('ZeroMQConsumer protected mode', () => {
  const commandBus = new CommandBus();

  it('refuses a tcp endpoint other hosts can reach without CURVE, naming the options', () => {
    for (const endpoint of ['tcp://0.0.0.0:5555', 'tcp://*:5555', 'tcp://10.1.2.3:5555']) {
      let error: unknown;
      try {
        new ZeroMQConsumer({ commandBus, commandEndpoint: endpoint });
      } catch (caught) {
        error = caught;
      }
      expect(isSwitchyardError(error, ErrorCode.InvalidConfiguration), endpoint).toBe(true);
      expect((error as Error).message).toMatch(/curve: \{ secretKey, allowedClientKeys \}.*auth: 'none'/s);
    }
  });

  it("accepts CURVE, an explicit auth: 'none', loopback and ipc endpoints", () => {
    const { secretKey } = generateCurveKeyPair();
    const accepted = [
      { commandEndpoint: 'tcp://0.0.0.0:5555', curve: { secretKey, allowedClientKeys: 'any' as const } },
      { commandEndpoint: 'tcp://0.0.0.0:5555', auth: 'none' as const },
      { commandEndpoint: 'tcp://127.0.0.1:0', queryEndpoint: 'tcp://[::1]:0' },
      { commandEndpoint: 'ipc:///tmp/switchyard-protected-mode.sock' },
    ];
    for (const options of accepted) {
      expect(() => new ZeroMQConsumer({ commandBus, ...options }), JSON.stringify(options)).not.toThrow();
    }
  });
});
