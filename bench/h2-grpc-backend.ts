// A gRPC unary echo server on cleartext HTTP/2 (Node's core stream API), the backend of the gRPC
// workload of `npm run bench:h2` for ringlb and nginx's grpc_pass alike: every call is answered with
// the message it brought, then grpc-status 0 in trailers. Usage: node h2-grpc-backend.js PORT
import { createServer, type ServerHttp2Stream } from 'node:http2';

const port = Number(process.argv[2]);
const server = createServer({ settings: { maxConcurrentStreams: 1000 } });
server.on('stream', (stream: ServerHttp2Stream, headers) => {
  if (headers[':method'] === 'GET') {
    // Health checks and readiness probes.
    stream.respond({ ':status': 200 });
    stream.end('ok');
    return;
  }
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('end', () => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': '' }));
    stream.end(Buffer.concat(chunks));
  });
  stream.on('error', () => undefined);
});
server.on('sessionError', () => undefined);
server.listen(port, '127.0.0.1');
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(0));
