import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProcessProvider } from '../src/providers/process-provider.js';
import { balancer, call, isAlive, waitFor } from './helpers.js';

type Started = Awaited<ReturnType<typeof balancer>>;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A service whose behaviour the test switches: ok, failing with 500, or slow. */
async function service(name: string) {
  const state = { mode: 'ok' as 'ok' | 'fail' | 'slow', served: 0 };
  const server: Server = createServer((req, res) => {
    if (req.url === '/health') return void res.end('ok');
    state.served++;
    if (state.mode === 'fail') {
      res.statusCode = 500;
      return void res.end('broken');
    }
    const reply = () => res.end(JSON.stringify({ name }));
    if (state.mode === 'slow') setTimeout(reply, 600);
    else reply();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { state, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function withBalancer(overrides: Parameters<typeof balancer>[0]): Promise<Started> {
  const lb = await balancer(overrides);
  cleanups.push(() => lb.close());
  return lb;
}

const inRing = (lb: Started) => lb.cluster.table.ring.members.map((m) => m.name);

function idFor(lb: Started, name: string): number {
  const ring = lb.cluster.table.ring;
  return [...Array(100_000).keys()].find((k) => ring.members[ring.pick(k)]!.name === name)!;
}

describe('failover', () => {
  it('ejects a replica that fails request after request before any heartbeat notices, and never more than the cap', async () => {
    const [a, b, c, d] = await Promise.all(['a', 'b', 'c', 'd'].map(service));
    const lb = await withBalancer({
      provider: 'static',
      backends: [a!.url, b!.url, c!.url, d!.url],
      healthPath: '/health',
      outlierFailures: 3,
      retries: 0,
    });
    a!.state.mode = 'fail';
    b!.state.mode = 'fail';
    c!.state.mode = 'fail';
    for (const name of ['Server 1', 'Server 2', 'Server 3']) {
      const id = idFor(lb, name);
      for (let i = 0; i < 3; i++) await call(`${lb.url}/x`, { headers: { 'x-request-id': String(id) } });
    }
    // 50 % of 4: two are ejected, the third stays although it fails too.
    const states = lb.cluster.describe().map((r) => r.state);
    expect(states.filter((s) => s === 'ejected')).toHaveLength(2);
    expect(inRing(lb)).toHaveLength(2);
    expect(inRing(lb)).toContain('Server 4');
  });

  it('retries a request on the next replica when its replica is hung, within the per-try timeout', async () => {
    const lb = await withBalancer({
      upstreamTimeoutMs: 800,
      heartbeatIntervalMs: 5_000,
      heartbeatTimeoutMs: 5_000,
    });
    const provider = lb.provider as ProcessProvider;
    const pid = provider.pidOf('Server 2')!;
    const id = idFor(lb, 'Server 2');
    process.kill(pid, 'SIGSTOP');
    cleanups.push(() => {
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    });
    const started = Date.now();
    const reply = await call(`${lb.url}/home`, { headers: { 'x-request-id': String(id) } });
    const took = Date.now() - started;
    expect(reply.status).toBe(200);
    expect(reply.body.message).not.toBe('Hello from Server: 2');
    expect(took).toBeGreaterThanOrEqual(700);
    expect(took).toBeLessThan(800 + 1_500);
  });

  it('lets requests in flight on a removed replica finish before it goes, with none failing', async () => {
    const [a, b] = await Promise.all(['a', 'b'].map(service));
    a!.state.mode = 'slow';
    b!.state.mode = 'slow';
    const lb = await withBalancer({ provider: 'static', backends: [a!.url, b!.url], healthPath: '/health' });
    const id = idFor(lb, 'Server 1');
    const inFlight = Array.from({ length: 10 }, () =>
      call(`${lb.url}/work`, { headers: { 'x-request-id': String(id) } }),
    );
    await waitFor('requests to reach the service', () => (a!.state.served === 10 ? true : undefined));
    const removal = call(`${lb.url}/rm`, { method: 'POST', json: { hostnames: ['Server 1'] } });
    const replies = await Promise.all(inFlight);
    expect(replies.map((r) => r.status)).toEqual(new Array(10).fill(200));
    expect(replies.every((r) => r.body.name === 'a')).toBe(true);
    expect((await removal).body.message.replicas).toEqual(['Server 2']);
    expect((await call(`${lb.url}/work`, { headers: { 'x-request-id': String(id) } })).body.name).toBe('b');
  });

  it('replaces a replica that keeps dying with growing delays', async () => {
    const lb = await withBalancer({ replicas: 1 });
    const provider = lb.provider as ProcessProvider;
    const gaps: number[] = [];
    for (let round = 0; round < 3; round++) {
      const pid = provider.pidOf('Server 1')!;
      const killed = Date.now();
      process.kill(pid, 'SIGKILL');
      await waitFor('the replacement', () => {
        const now = provider.pidOf('Server 1');
        const healthy = lb.cluster.describe()[0]?.state === 'healthy';
        return now !== undefined && now !== pid && healthy ? true : undefined;
      });
      gaps.push(Date.now() - killed);
    }
    // Immediately, then after 500 ms, then after 1 s.
    expect(gaps[1]).toBeGreaterThanOrEqual(500);
    expect(gaps[2]).toBeGreaterThanOrEqual(1_000);
  });
});
