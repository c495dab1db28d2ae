// Found by the soak run (issue 18: "open fds back to the start within 10 s of the load stopping"):
// the balancer's idle connections to an HTTP/1.1 replica stayed open 30 s after a request from an
// HTTP/2 client (that path's undici pool kept idle keep-alive 30 s), while the HTTP/1.1 fast path
// closes an idle upstream connection after 4 s. One idle timeout for both: here each client's
// request leaves the connection idle, and 7 s later the replica must see it closed.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { makeCertificate, tempDir } from '../certificates.js';
import { startCli } from '../cli-process.js';
import { h2Call } from './h2-call.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A replica that counts its open connections that carried a request other than a heartbeat. */
async function replica(): Promise<{ url: string; open: () => number }> {
  const proxied = new Set<Socket>();
  const all = new Set<Socket>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    if (req.url !== '/heartbeat') proxied.add(req.socket);
    res.end(req.url === '/heartbeat' ? '' : 'hello');
  });
  server.keepAliveTimeout = 60_000; // the replica would keep them: closing is the balancer's job
  server.on('connection', (socket) => {
    all.add(socket);
    socket.on('close', () => {
      all.delete(socket);
      proxied.delete(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    for (const socket of all) socket.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, open: () => proxied.size };
}

async function balancerFor(url: string): Promise<{ port: number; ca: string }> {
  const { dir, remove } = tempDir();
  cleanups.push(remove);
  const cert = makeCertificate(dir, 'idle-upstream');
  const lb = await startCli(
    ...['--provider', 'static', '--backends', url, '--replicas', '1'],
    ...['--tls-cert', cert.cert, '--tls-key', cert.key],
  );
  return { port: lb.port, ca: cert.pem };
}

const IDLE_WAIT_MS = 7_000;

describe('regression: idle connections to an HTTP/1.1 replica', () => {
  it('are closed within seconds after an HTTP/1.1 client’s request', async () => {
    const r = await replica();
    const { port, ca } = await balancerFor(r.url);
    const agent = new Agent({ connect: { ca, servername: 'localhost' } });
    cleanups.push(() => agent.close());
    const response = await request(`https://localhost:${port}/home`, { dispatcher: agent });
    expect(response.statusCode).toBe(200);
    await response.body.text();
    expect(r.open(), 'the request did not reach the replica').toBe(1);
    await new Promise((resolve) => setTimeout(resolve, IDLE_WAIT_MS));
    expect(r.open()).toBe(0);
  }, 20_000);

  it('are closed within seconds after an HTTP/2 client’s request', async () => {
    const r = await replica();
    const { port, ca } = await balancerFor(r.url);
    expect((await h2Call(port, ca, { ':path': '/home', ':method': 'GET' })).status).toBe(200);
    expect(r.open(), 'the request did not reach the replica').toBe(1);
    await new Promise((resolve) => setTimeout(resolve, IDLE_WAIT_MS));
    expect(r.open()).toBe(0);
  }, 20_000);
});
