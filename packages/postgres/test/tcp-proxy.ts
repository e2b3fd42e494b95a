import net from 'node:net';

/**
 * A loopback TCP proxy to PostgreSQL the fault tests can cut: `stop()` closes the port and every
 * connection (PostgreSQL unreachable), `blackhole()` accepts connections and never answers (a hung
 * server), `start()` forwards again on the same port.
 */
export class TcpProxy {
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<net.Socket>();
  #server: net.Server | undefined;
  #mode: 'forward' | 'blackhole' = 'forward';
  port = 0;

  constructor(target: { host: string; port: number }) {
    this.#target = target;
  }

  async start(): Promise<void> {
    this.#mode = 'forward';
    if (this.#server !== undefined) return;
    const server = net.createServer((client) => {
      this.#track(client);
      if (this.#mode === 'blackhole') return; // read nothing, answer nothing
      const upstream = net.connect(this.#target);
      this.#track(upstream);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.#server = server;
  }

  /** Accepts connections but never answers; existing connections are cut. */
  blackhole(): void {
    this.#mode = 'blackhole';
    this.#cut();
  }

  /** Closes the port and cuts every connection. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    this.#cut();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #track(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined);
  }

  #cut(): void {
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }
}
