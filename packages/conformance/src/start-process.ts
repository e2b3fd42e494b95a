import { type ChildProcess, spawn } from 'node:child_process';

/** Options of {@link startProcess}. */
export interface StartProcessOptions {
  /** Environment variables on top of this process's. @default {} */
  readonly env?: Readonly<Record<string, string>> | undefined;
  /** What the process prints on stdout once it is ready. @default 'ready' */
  readonly ready?: string | undefined;
  /** How long it may take to print `ready`; then the promise rejects and the process is killed. @default 15_000 */
  readonly timeoutMs?: number | undefined;
  /** Node options before the script. @default ['--conditions=switchyard-source'] */
  readonly nodeArgs?: readonly string[] | undefined;
}

/** A process started by {@link startProcess}. */
export interface StartedProcess {
  readonly child: ChildProcess;
  /** Everything it printed on stdout so far. */
  output(): string;
  /** Resolves with its exit code (or `null` when a signal ended it) once it exited. */
  exited(): Promise<number | null>;
}

/**
 * Starts a Node script in a child process (for crash and shutdown tests: a worker to SIGKILL or
 * SIGTERM) and resolves once it printed `ready`. Rejects — and kills it — if it exits first or does
 * not get ready within `timeoutMs`. Its stderr goes to this process's.
 *
 * @example
 * const worker = await startProcess(fileURLToPath(new URL('./fixtures/worker.ts', import.meta.url)), { env: { QUEUE: 'q' } });
 * worker.child.kill('SIGKILL');
 * await worker.exited();
 */
export function startProcess(script: string, options: StartProcessOptions = {}): Promise<StartedProcess> {
  const ready = options.ready ?? 'ready';
  const timeoutMs = options.timeoutMs ?? 15_000;
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? ['--conditions=switchyard-source']), script],
    {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let output = '';
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started: StartedProcess = { child, output: () => output, exited: () => exit };
  return new Promise((resolve, reject) => {
    const fail = (error: Error): void => {
      clearTimeout(timer);
      if (child.exitCode === null) child.kill('SIGKILL');
      reject(error);
    };
    const timer = setTimeout(
      () => fail(new Error(`${script} did not print "${ready}" within ${timeoutMs} ms`)),
      timeoutMs,
    );
    void exit.then((code) => fail(new Error(`${script} exited (${code}) before it printed "${ready}"`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(ready)) {
        clearTimeout(timer);
        resolve(started);
      }
    });
  });
}
