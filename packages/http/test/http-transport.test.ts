import { CommandBus, ErrorCode, EventBus, isSwitchyardError, QueryBus } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { HttpConsumer, HttpProducer, httpTransport } from '../src/index.ts';

describe('httpTransport', () => {
  it('declares what its producer can do, and builds each side only from its own options', async () => {
    const transport = httpTransport({ producer: { url: 'http://127.0.0.1:9/' } });
    const producer = transport.createProducer();
    expect(producer).toBeInstanceOf(HttpProducer);
    expect(producer.capabilities).toEqual(transport.capabilities);
    await producer.close();
    const wiring = { commandBus: new CommandBus(), eventBus: new EventBus(), queryBus: new QueryBus() };
    let error: unknown;
    try {
      transport.createConsumer(wiring);
    } catch (caught) {
      error = caught;
    }
    expect(isSwitchyardError(error, ErrorCode.InvalidConfiguration)).toBe(true);
    expect((error as Error).message).toContain('consumer');
    expect(httpTransport({ consumer: { port: 0 } }).createConsumer(wiring)).toBeInstanceOf(HttpConsumer);
  });
});
