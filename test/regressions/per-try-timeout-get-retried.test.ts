// Found by the soak run (issue 18, its "slow replica" and SIGSTOP faults, HTTP/1.1 replicas): a GET
// whose replica did not answer within --upstream-timeout got 504 "replica 'Server 1' did not answer
// in time" (HTTP/1.1 clients) or a bare 502 (HTTP/2 clients), although the README promises that an
// idempotent request is tried on the next replica after a per-try timeout. Here replica A holds
// every request without answering (heartbeats it does answer, so it stays in the ring): each GET
// must be answered by B, after about one per-try timeout.
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

async function replica(name: string, hangs: boolean): Promise<{ url: string; held: () => number }> {
  let held = 0;
  const sockets = new Set<Socket>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    if (req.url === '/heartbeat' || !hangs) {
      res.end(req.url === '/heartbeat' ? '' : `Hello from ${name}`);
      return;
    }
    held++; // never answered: the client's side gives up
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, held: () => held };
}

async function setup(): Promise<{ port: number; ca: string; agent: Agent; held: () => number }> {
  const { dir, remove } = tempDir();
  cleanups.push(remove);
  const cert = makeCertificate(dir, 'per-try');
  const a = await replica('A', true);
  const b = await replica('B', false);
  const lb = await startCli(
    ...['--provider', 'static', '--backends', `${a.url},${b.url}`, '--replicas', '2'],
    ...['--upstream-timeout', '300', '--outlier-failures', '1000'],
    ...['--tls-cert', cert.cert, '--tls-key', cert.key],
  );
  const agent = new Agent({ connect: { ca: cert.pem, servername: 'localhost' } });
  cleanups.push(() => agent.close());
  return { port: lb.port, ca: cert.pem, agent, held: a.held };
}

/** Ids 1..6: on the classic ring, most are A's. */
const IDS = [1, 2, 3, 4, 5, 6];

describe('regression: a GET whose replica does not answer within the per-try timeout', () => {
  it('is answered by the next replica, over HTTP/1.1', async () => {
    const { port, agent, held } = await setup();
    const replies: { status: number; body: string }[] = [];
    for (const id of IDS) {
      const response = await request(`https://localhost:${port}/home`, {
        headers: { 'x-request-id': String(id) },
        dispatcher: agent,
        signal: AbortSignal.timeout(5000),
      }).catch((error: Error) => ({ statusCode: 0, body: { text: async () => error.message } }));
      replies.push({ status: response.statusCode, body: await response.body.text() });
    }
    expect(held(), 'no GET reached replica A: the test proves nothing').toBeGreaterThan(0);
    expect(replies.filter((reply) => reply.status !== 200 || reply.body !== 'Hello from B')).toEqual([]);
  });

  it('is answered by the next replica, over HTTP/2', async () => {
    const { port, ca, held } = await setup();
    const replies: { status: number; body: string }[] = [];
    for (const id of IDS)
      replies.push(
        await h2Call(port, ca, { ':path': '/home', ':method': 'GET', 'x-request-id': String(id) }),
      );
    expect(held(), 'no GET reached replica A: the test proves nothing').toBeGreaterThan(0);
    expect(replies.filter((reply) => reply.status !== 200 || reply.body !== 'Hello from B')).toEqual([]);
  });
});
