// The Node backend of `npm run bench:proxy` (its "node backends" variant): node:http, one process,
// serving every workload the way the nginx backends do: any body is read whole and answered with a
// short JSON message, `/download/…` sends 1 MiB, `/heartbeat` is an empty 200.
// Usage: node dist/bench/proxy-backend.js PORT NAME
import { createServer } from 'node:http';
import { DOWNLOAD_BYTES } from './lib/workloads.js';

const port = Number(process.argv[2]);
const name = process.argv[3] ?? String(port);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: proxy-backend PORT [NAME]');
  process.exit(2);
}

const download = Buffer.alloc(DOWNLOAD_BYTES, 'z');
const hello = JSON.stringify({ message: `Hello from Server: ${name}`, status: 'successful' });

const server = createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    if (req.url?.startsWith('/download/')) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': download.length });
      res.end(download);
      return;
    }
    if (req.url === '/heartbeat') {
      res.writeHead(200, { 'content-length': '0' });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(hello) });
    res.end(hello);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1');
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(0));
