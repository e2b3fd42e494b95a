import { createServer } from 'node:net';

/** A loopback TCP port nobody listens on right now (the OS picks it; it is released at once). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('The OS gave no TCP port');
  return address.port;
}
