import { createServer, type Server } from 'node:http';

/**
 * The baseline of the HTTP rows: a plain `node:http` server that reads a v1 query envelope of the
 * bench's `Add` query by hand and answers the v1 reply. `marked` adds the header Switchyard's HTTP
 * consumer puts on replies (so that its producer reads the answer as a reply), for profiling the
 * producer alone against this server.
 */
export function plainAddServer(marked = false): Server {
  return createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const query = JSON.parse(Buffer.concat(chunks).toString()) as {
        id: string;
        payload: { a: number; b: number };
      };
      const body = JSON.stringify({
        v: 1,
        inReplyTo: query.id,
        ok: true,
        result: { sum: query.payload.a + query.payload.b },
      });
      const length = Buffer.byteLength(body);
      response.writeHead(
        200,
        marked
          ? { 'content-type': 'application/json', 'content-length': length, 'x-switchyard-reply': '1' }
          : { 'content-type': 'application/json', 'content-length': length },
      );
      response.end(body);
    });
  });
}
