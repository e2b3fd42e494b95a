import { describe, expect, it } from 'vitest';
import { RESTART_DELAY_MS, ReceiveLoop, type ReceivingSocket } from './receive-loop.ts';

/** A socket fed by the test: `push` hands a message to the pending receive, `fail` makes it throw. */
class ScriptedSocket implements ReceivingSocket {
  closed = false;
  receives = 0;
  #queue: (Buffer[] | Error)[] = [];
  #waiter: { resolve(frames: Buffer[]): void; reject(error: unknown): void } | undefined;

  receive(): Promise<Buffer[]> {
    this.receives++;
    const next = this.#queue.shift();
    if (next instanceof Error) return Promise.reject(next);
    if (next !== undefined) return Promise.resolve(next);
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  push(item: Buffer[] | Error): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter === undefined) this.#queue.push(item);
    else if (item instanceof Error) waiter.reject(item);
    else waiter.resolve(item);
  }

  close(): void {
    this.closed = true;
    this.#waiter?.reject(Object.assign(new Error('closed'), { code: 'EAGAIN' }));
  }
}

const frame = (text: string) => [Buffer.from(text)];

describe('ReceiveLoop', () => {
  it('reports a failed receive and reads on after a pause; a throwing handler does not end it', async () => {
    const socket = new ScriptedSocket();
    const seen: string[] = [];
    const failures: unknown[] = [];
    const loop = new ReceiveLoop(socket, {
      onMessage(frames) {
        const text = frames[0]!.toString();
        if (text === 'bad') throw new Error('handler bug');
        seen.push(text);
        return undefined;
      },
      onFailure: (error) => failures.push(error),
    });
    socket.push(frame('one'));
    socket.push(new Error('receive failed'));
    socket.push(frame('bad'));
    socket.push(frame('two'));
    const started = Date.now();
    await new Promise((resolve) => setTimeout(resolve, RESTART_DELAY_MS + 50));
    expect(seen).toEqual(['one', 'two']);
    expect(failures.map(String)).toEqual(['Error: receive failed', 'Error: handler bug']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(RESTART_DELAY_MS);
    socket.close();
    await loop.done;
  });

  it('waits for the promise onMessage returns before the next receive', async () => {
    const socket = new ScriptedSocket();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const loop = new ReceiveLoop(socket, { onMessage: () => gate, onFailure() {} });
    socket.push(frame('a'));
    socket.push(frame('b'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(socket.receives).toBe(1);
    // Parked on the gate, not in a receive: stop() says the socket may be read by someone else.
    expect(loop.stop()).toBe(true);
    release();
    await loop.done;
    expect(socket.receives).toBe(1);
  });

  it('idle(): true once one receive waited quietMs, false at the deadline while messages keep coming', async () => {
    const socket = new ScriptedSocket();
    const loop = new ReceiveLoop(socket, { onMessage: () => undefined, onFailure() {} });
    const feeding = setInterval(() => socket.push(frame('tick')), 5);
    const busy = await loop.idle(50, Date.now() + 200);
    clearInterval(feeding);
    expect(busy).toBe(false);
    const started = Date.now();
    expect(await loop.idle(50, Date.now() + 1_000)).toBe(true);
    expect(Date.now() - started).toBeLessThan(500);
    expect(loop.stop()).toBe(false); // waiting in a receive: ends when the socket closes
    socket.close();
    await loop.done;
  });
});
