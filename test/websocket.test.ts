import { afterEach, describe, expect, it } from 'vitest';
import { balancer, call, waitFor } from './helpers.js';
import { closeCode, echoReplicas, openWebSocket } from './websocket-peer.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function replicas(names: string[]) {
  return echoReplicas(names, cleanups);
}

async function withBalancer(overrides: Parameters<typeof balancer>[0]) {
  const lb = await balancer({ provider: 'static', ...overrides });
  cleanups.push(() => lb.close());
  return lb;
}

/** The replica (by its own name) that the ring sends a plain request with this key to. */
async function plainOwner(url: string, key: string): Promise<string> {
  return (await call(`${url}/who`, { headers: { 'x-request-id': key } })).body as string;
}

describe('WebSockets through the balancer', () => {
  it('echoes both ways on the replica a plain request with the same key goes to', async () => {
    const backends = await replicas(['A', 'B', 'C']);
    const lb = await withBalancer({ backends: backends.map((b) => b.url) });
    const owners = new Set<string>();
    for (const key of ['1', '22', '333', '4444', '55555', '666666', '123', '98765']) {
      const ws = await openWebSocket(lb.port, '/chat', { 'x-request-id': key });
      expect(ws.status).toBe(101);
      ws.send(`hello ${key}`);
      const reply = (await ws.next()).payload.toString();
      const [name, text] = reply.split(':');
      expect(text).toBe(`hello ${key}`);
      expect(name).toBe(await plainOwner(lb.url, key));
      owners.add(name!);
      ws.socket.destroy();
    }
    // The keys were spread: affinity is not the trivial "everything on one replica".
    expect(owners.size).toBeGreaterThan(1);
  });

  it('is not cut by the HTTP timeouts, and is counted per replica', async () => {
    const backends = await replicas(['A']);
    const lb = await withBalancer({
      backends: backends.map((b) => b.url),
      keepAliveTimeoutMs: 200,
      headersTimeoutMs: 200,
    });
    const ws = await openWebSocket(lb.port, '/chat', { 'x-request-id': '7' });
    await waitFor('the count', () => (lb.webSockets().get(lb.cluster.names()[0]!) === 1 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    ws.send('still here');
    expect((await ws.next()).payload.toString()).toBe('A:still here');
    ws.socket.destroy();
    await waitFor('the count to drop', () => (lb.webSockets().size === 0 ? true : undefined));
  });

  it('closes a silent WebSocket with 1001 after --ws-idle-timeout', async () => {
    const backends = await replicas(['A']);
    const lb = await withBalancer({ backends: backends.map((b) => b.url), wsIdleTimeoutMs: 300 });
    const ws = await openWebSocket(lb.port, '/chat');
    const started = Date.now();
    const frame = await ws.next(3_000);
    expect(closeCode(frame)).toBe(1001);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    await ws.closed;
  });

  it('closes with 1012 when its replica leaves the ring, and the client reconnects to the new owner', async () => {
    const backends = await replicas(['A', 'B', 'C']);
    const lb = await withBalancer({ backends: backends.map((b) => b.url), drainTimeoutMs: 300 });
    const key = '424242';
    const ws = await openWebSocket(lb.port, '/chat', { 'x-request-id': key });
    ws.send('hi');
    const owner = (await ws.next()).payload.toString().split(':')[0]!;
    const route = lb.cluster.table.routes.find(
      (r) => r.origin === backends[['A', 'B', 'C'].indexOf(owner)]!.url,
    )!;
    const removed = await call(`${lb.url}/rm`, { method: 'DELETE', json: { n: 1, hostnames: [route.name] } });
    expect(removed.status).toBe(200);
    const frame = await ws.next(3_000);
    expect(closeCode(frame)).toBe(1012);
    await ws.closed;

    const again = await openWebSocket(lb.port, '/chat', { 'x-request-id': key });
    again.send('back');
    const newOwner = (await again.next()).payload.toString().split(':')[0]!;
    expect(newOwner).not.toBe(owner);
    expect(newOwner).toBe(await plainOwner(lb.url, key));
    again.socket.destroy();
  });

  it('finishes the frame in flight before closing, so the close frame is whole', async () => {
    const backends = await replicas(['A']);
    const lb = await withBalancer({ backends: backends.map((b) => b.url), drainTimeoutMs: 0 });
    const ws = await openWebSocket(lb.port, '/chat');
    ws.send('big:100000');
    // The replica has sent half of a 100 kB frame when it leaves the ring.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await call(`${lb.url}/rm`, { method: 'DELETE', json: { n: 1 } });
    const big = await ws.next(3_000);
    expect(big.payload.length).toBe(100_000);
    expect(closeCode(await ws.next(3_000))).toBe(1012);
  });

  it('closes with 1012 when the replica dies', async () => {
    const backends = await replicas(['A']);
    const lb = await withBalancer({ backends: backends.map((b) => b.url) });
    const ws = await openWebSocket(lb.port, '/chat');
    ws.send('x');
    await ws.next();
    backends[0]!.kill();
    expect(closeCode(await ws.next(3_000))).toBe(1012);
  });

  it('answers 503 when no replica is there', async () => {
    const backends = await replicas(['A']);
    const lb = await withBalancer({ backends: backends.map((b) => b.url), replicas: 0 });
    const ws = await openWebSocket(lb.port, '/chat');
    expect(ws.status).toBe(503);
  });
});
