import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import {
  createServer as createNetServer,
  type AddressInfo,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startBalancer } from '../src/cli/balancer.js';
import { configSchema } from '../src/cli/config.js';
import { preflight } from '../src/cli/preflight.js';
import { freePort } from './etcd-helpers.js';
import { balancer, call, waitFor } from './helpers.js';

type Started = Awaited<ReturnType<typeof balancer>>;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server on `port` (any free one by default) answering its name and /health. */
async function server(name: string, port = 0): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => res.end(req.url === '/health' ? 'ok' : name));
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** A backend in a process of its own, so that the test can SIGSTOP it. */
async function processBackend(name: string): Promise<{ url: string; child: ChildProcess }> {
  const script = `require('http').createServer((q, s) => s.end(q.url === '/health' ? 'ok' : ${JSON.stringify(name)}))
    .listen(0, '127.0.0.1', function () { console.log(this.address().port); });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(() => {
    child.kill('SIGKILL');
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    child.once('exit', () => reject(new Error('backend exited')));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

/** Accepts connections and answers nothing (`onSocket` sees each); closed with the test. */
async function silentServer(
  onSocket: (socket: Socket) => void = () => undefined,
): Promise<{ held: Set<Socket>; silent: NetServer; port: number }> {
  const held = new Set<Socket>();
  const silent = createNetServer((socket) => {
    held.add(socket);
    socket.on('close', () => held.delete(socket));
    onSocket(socket);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    for (const socket of held) socket.destroy();
    silent.close();
  });
  return { held, silent, port: (silent.address() as AddressInfo).port };
}

async function withBalancer(overrides: Parameters<typeof balancer>[0]): Promise<Started> {
  const lb = await balancer({ provider: 'static', healthPath: '/health', ...overrides });
  cleanups.push(() => lb.close());
  return lb;
}

const inRing = (lb: Started) => lb.cluster.table.ring.members.map((m) => m.name).sort();
const stateOf = (lb: Started, name: string) => lb.cluster.describe().find((r) => r.name === name)?.state;

async function replacements(lb: Started): Promise<number> {
  const text = (await call(`${lb.url}/metrics`)).body as string;
  return Number(/^ringlb_replacements_total (\d+)/m.exec(text)?.[1] ?? NaN);
}

describe('static backends that do not answer are members', () => {
  it('starts and serves with the backends that answer, and takes the others in once they answer', async () => {
    const [a, b] = await Promise.all([server('a'), server('b')]);
    const port = await freePort();
    const started = Date.now();
    const lb = await withBalancer({
      backends: [a.url, b.url, `http://127.0.0.1:${port}`],
      heartbeatIntervalMs: 100,
    });
    const startMs = Date.now() - started;
    // The silent one is a member, out of the ring, and the balancer serves from the others.
    expect((await call(`${lb.url}/rep`)).body.message.replicas).toEqual(['Server 1', 'Server 2', 'Server 3']);
    expect(stateOf(lb, 'Server 3')).toBe('unhealthy');
    expect(inRing(lb)).toEqual(['Server 1', 'Server 2']);
    for (let i = 0; i < 20; i++) {
      const reply = await call(`${lb.url}/x`, { headers: { 'x-request-id': String(i) } });
      expect(reply.status).toBe(200);
    }
    await server('c', port);
    const answeredAt = Date.now();
    await waitFor('Server 3 in the ring', () => (inRing(lb).length === 3 ? true : undefined), 5_000);
    console.log(
      `static: serving ${startMs} ms after start; Server 3 in ${Date.now() - answeredAt} ms after it answered`,
    );
    expect(stateOf(lb, 'Server 3')).toBe('healthy');
    expect(await replacements(lb)).toBe(0);
  });

  it('serves from the others while a silent backend has not answered its first check yet, and takes it in once it answers', async () => {
    const [a, b] = await Promise.all([server('a'), server('b')]);
    // Accepts connections and reads requests, answers nothing: a host behind a link that drops replies.
    let requests = 0;
    let first: Socket | undefined;
    const { held, silent, port } = await silentServer((socket) => {
      first ??= socket;
      socket.on('data', () => requests++);
    });
    const lb = await withBalancer({
      backends: [a.url, b.url, `http://127.0.0.1:${port}`],
      heartbeatIntervalMs: 100,
      heartbeatTimeoutMs: 5_000,
    });
    expect(stateOf(lb, 'Server 3')).toBe('unhealthy');
    expect(inRing(lb)).toEqual(['Server 1', 'Server 2']);
    const served = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const reply = await call(`${lb.url}/x`, { headers: { 'x-request-id': String(i) } });
      expect(reply.status).toBe(200);
      served.add(reply.body);
    }
    expect([...served].sort()).toEqual(['a', 'b']);
    // All that while, the silent one's first heartbeat (5 s to answer) has been waiting for its answer.
    expect(requests).toBeGreaterThan(0);
    expect(first && held.has(first)).toBe(true);
    // It answers: the same port, a server that replies.
    for (const socket of held) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    await server('c', port);
    await waitFor('Server 3 in the ring', () => (inRing(lb).length === 3 ? true : undefined), 5_000);
    expect(stateOf(lb, 'Server 3')).toBe('healthy');
    const reached = new Set<string>();
    for (let i = 0; i < 60; i++)
      reached.add((await call(`${lb.url}/x`, { headers: { 'x-request-id': String(i) } })).body);
    expect([...reached].sort()).toEqual(['a', 'b', 'c']);
  });

  it("does not check again a backend that the start's checks found silent: it starts unhealthy, and is taken in once it answers", async () => {
    const [a, b] = await Promise.all([server('a'), server('b')]);
    const { held, silent, port } = await silentServer();
    const lines: { msg: string; replica?: string; to?: string; reason?: string }[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
        done();
      },
    });
    const config = configSchema.parse({
      port: 0,
      host: '127.0.0.1',
      provider: 'static',
      healthPath: '/health',
      backends: [a.url, b.url, `http://127.0.0.1:${port}`],
      heartbeatIntervalMs: 100,
      heartbeatTimeoutMs: 5_000,
    });
    // What `ringlb start` does: its own checks first, and what they found goes to the start.
    const checks = await preflight(config, 'start');
    const started = await startBalancer(config, pino({ level: 'info' }, sink), undefined, checks);
    const lb = Object.assign(started, { url: `http://127.0.0.1:${started.port}` });
    cleanups.push(() => lb.close());
    expect(inRing(lb)).toEqual(['Server 1', 'Server 2']);
    // Unhealthy for what the checks found; its own first heartbeat (5 s to answer) was never sent.
    const change = lines.find((l) => l.replica === 'Server 3' && l.to === 'unhealthy');
    expect(change?.reason).toContain('did not answer within 0.25 s');
    expect((await call(`${lb.url}/x`)).status).toBe(200);
    for (const socket of held) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    await server('c', port);
    await waitFor('Server 3 in the ring', () => (inRing(lb).length === 3 ? true : undefined), 5_000);
    expect(stateOf(lb, 'Server 3')).toBe('healthy');
  });

  it('keeps a stopped backend as an unhealthy member, replaces nothing, and takes it back when it resumes', async () => {
    const [a, b] = await Promise.all([processBackend('a'), processBackend('b')]);
    const lb = await withBalancer({
      backends: [a.url, b.url],
      heartbeatIntervalMs: 100,
      heartbeatTimeoutMs: 200,
    });
    expect(inRing(lb)).toEqual(['Server 1', 'Server 2']);
    const states: string[] = [];
    lb.cluster.onChange(() => states.push(stateOf(lb, 'Server 2')!));
    b.child.kill('SIGSTOP');
    await waitFor('Server 2 unhealthy', () => (stateOf(lb, 'Server 2') === 'unhealthy' ? true : undefined));
    expect(inRing(lb)).toEqual(['Server 1']);
    expect((await call(`${lb.url}/x`)).body).toBe('a');
    b.child.kill('SIGCONT');
    await waitFor('Server 2 back', () => (inRing(lb).length === 2 ? true : undefined), 5_000);
    expect(states).not.toContain('down');
    expect(states).not.toContain('starting');
    expect(await replacements(lb)).toBe(0);
    expect(lb.cluster.replacements).toBe(0);
  });
});

describe('static backends at run time', () => {
  it('registers servers with /add, removes them by name with /rm, and --backends is only the start', async () => {
    const [a, b, c] = await Promise.all([server('a'), server('b'), server('c')]);
    const lb = await withBalancer({ backends: [a.url] });
    const added = await call(`${lb.url}/add`, {
      method: 'POST',
      json: { backends: [b.url, c.url], hostnames: ['api-7'] },
    });
    expect(added.status).toBe(200);
    expect(added.body.message.replicas).toEqual(['Server 1', 'api-7', 'Server 3']);
    expect(inRing(lb)).toEqual(['Server 1', 'Server 3', 'api-7']);
    const served = new Set<string>();
    for (let i = 0; i < 60; i++)
      served.add((await call(`${lb.url}/x`, { headers: { 'x-request-id': String(i) } })).body);
    expect([...served].sort()).toEqual(['a', 'b', 'c']);
    // The same server twice, a bad address, and addresses with another provider's fields: 400s.
    const again = await call(`${lb.url}/add`, { method: 'POST', json: { backends: [b.url] } });
    expect(again.status).toBe(400);
    expect(again.body.message).toMatch(/already replica 'api-7'/);
    const bad = await call(`${lb.url}/add`, { method: 'POST', json: { backends: ['ftp://x:1'] } });
    expect(bad.status).toBe(400);
    // The starting list is used up: an /add without addresses says how to register one.
    const none = await call(`${lb.url}/add`, { method: 'POST', json: { n: 1 } });
    expect(none.status).toBe(400);
    expect(none.body.message).toMatch(/register servers/);
    const removed = await call(`${lb.url}/rm`, { method: 'POST', json: { hostnames: ['api-7'] } });
    expect(removed.status).toBe(200);
    expect(removed.body.message.replicas).toEqual(['Server 1', 'Server 3']);
    expect(inRing(lb)).toEqual(['Server 1', 'Server 3']);
    for (let i = 0; i < 30; i++) {
      expect((await call(`${lb.url}/x`, { headers: { 'x-request-id': String(i) } })).body).not.toBe('b');
    }
  });

  it('registers a server that does not answer yet as an unhealthy member', async () => {
    const a = await server('a');
    const port = await freePort();
    const lb = await withBalancer({ backends: [a.url], heartbeatIntervalMs: 100 });
    const added = await call(`${lb.url}/add`, {
      method: 'POST',
      json: { backends: [`http://127.0.0.1:${port}`], hostnames: ['late'] },
    });
    expect(added.status).toBe(200);
    expect(stateOf(lb, 'late')).toBe('unhealthy');
    await server('late', port);
    await waitFor('late in the ring', () => (inRing(lb).includes('late') ? true : undefined), 5_000);
  });

  it('refuses backends with a provider that starts its replicas', async () => {
    const lb = await balancer({ replicas: 1 });
    cleanups.push(() => lb.close());
    const reply = await call(`${lb.url}/add`, { method: 'POST', json: { backends: ['http://127.0.0.1:1'] } });
    expect(reply.status).toBe(400);
    expect(reply.body.message).toMatch(/needs --provider static/);
    expect(lb.cluster.names()).toEqual(['Server 1']);
  });
});
