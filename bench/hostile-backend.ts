import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The services behind ringlb in `npm run bench:hostile`, as a process of their own: `COUNT` HTTP
 * servers on free loopback ports that answer every request with a short 200, and count what they got.
 * `GET /__stats` on any of them returns the counts; the ports go to stdout as one JSON line.
 */
const count = Number(process.argv[2] ?? 2);
const stats = { requests: 0, malformed: 0 };

function serve(): Promise<Server> {
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/__stats') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(stats));
      return;
    }
    if (url !== '/health') stats.requests++;
    // Every malformed request the bench sends targets /malformed...: none may ever get here.
    if (url.startsWith('/malformed')) stats.malformed++;
    req.resume();
    res.end('ok');
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const servers = await Promise.all(Array.from({ length: count }, serve));
process.stdout.write(`${JSON.stringify({ ports: servers.map((s) => (s.address() as AddressInfo).port) })}\n`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(0));
// Bounded even if the bench that started it dies without stopping it.
setTimeout(() => process.exit(0), 30 * 60_000).unref();
process.on('disconnect', () => process.exit(0));
