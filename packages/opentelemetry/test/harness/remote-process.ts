import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AnyMessage } from '@switchyard/core';
import type { PlainSpan } from './telemetry.ts';
import type { TransportName } from './transports.ts';

const script = fileURLToPath(new URL('../fixtures/remote-process.ts', import.meta.url));

export interface RemoteState {
  readonly spans: PlainSpan[];
  readonly seen: Record<string, AnyMessage>;
}

/** The remote service in a child process (see fixtures/remote-process.ts). */
export class RemoteProcess {
  readonly #child: ChildProcess;
  readonly address: string;

  private constructor(child: ChildProcess, address: string) {
    this.#child = child;
    this.address = address;
  }

  static async start(transport: TransportName, backAddress: string, prefix: string): Promise<RemoteProcess> {
    const child = spawn(
      process.execPath,
      ['--conditions=switchyard-source', script, transport, backAddress, prefix],
      {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    );
    const address = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('the remote process did not start within 20 s')),
        20_000,
      );
      child.once('exit', (code) => reject(new Error(`the remote process exited with ${String(code)}`)));
      child.on('message', (message: { type: string; address?: string }) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          resolve(message.address!);
        }
      });
    });
    return new RemoteProcess(child, address);
  }

  state(): Promise<RemoteState> {
    return this.#request<RemoteState & { type: string }>('state');
  }

  /** Closes the remote side and waits for the process to exit. */
  async close(): Promise<void> {
    const exited = new Promise<void>((resolve) => {
      if (this.#child.exitCode !== null) resolve();
      else this.#child.once('exit', () => resolve());
    });
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 15_000);
    if (this.#child.connected) await this.#request('close').catch(() => undefined);
    await exited;
    clearTimeout(timer);
  }

  #request<T>(type: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const onMessage = (message: { type: string }) => {
        if (message.type !== type && !(type === 'close' && message.type === 'closed')) return;
        this.#child.off('message', onMessage);
        resolve(message as T);
      };
      this.#child.on('message', onMessage);
      this.#child.send({ type }, (error) => {
        if (error !== null) {
          this.#child.off('message', onMessage);
          reject(error);
        }
      });
    });
  }
}
