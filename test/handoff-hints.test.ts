import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unbounded } from '../src/ring/bounded/bounded-load-ring.js';
import type { Ring } from '../src/ring/ring.js';
import { balancer, call, waitFor } from './helpers.js';

type Started = Awaited<ReturnType<typeof balancer>>;

/** A backend that answers with its name and the headers it was sent. */
async function echo(name: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    if (req.url === '/health') return void res.end('ok');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ name, headers: req.headers }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const WINDOW_S = 8;
const KEYS = Array.from({ length: 200 }, (_, k) => k * 7_919 + 3);

async function send(lb: Started, key: number, extra: Record<string, string> = {}) {
  const reply = await call(`${lb.url}/x`, { headers: { 'x-request-id': String(key), ...extra } });
  expect(reply.status).toBe(200);
  return reply.body as { name: string; headers: IncomingHttpHeaders };
}

const ownerOf = (ring: Ring, key: number) => ring.members[unbounded(ring).pick(key)]!.name;

describe('hand-off hints over HTTP (ketama, static backends that echo what they get)', () => {
  const servers: { url: string; server: Server }[] = [];
  let lb: Started;
  beforeAll(async () => {
    for (const name of ['a', 'b', 'c', 'd']) servers.push(await echo(name));
    lb = await balancer({
      provider: 'static',
      healthPath: '/health',
      ring: 'ketama',
      backends: servers.slice(0, 3).map((s) => s.url),
      handoffWindow: WINDOW_S,
      ownersHeader: 2,
    });
  });
  afterAll(async () => {
    await lb?.close();
    for (const { server } of servers) {
      server.closeAllConnections();
      server.close();
    }
  });

  it('before any change: no previous owner, the preference list, and a client copy never passes', async () => {
    const ring = lb.cluster.table.ring;
    for (const key of KEYS.slice(0, 30)) {
      const got = await send(lb, key, {
        'x-ringlb-previous-owner': 'Server 9 http://evil:1',
        'x-ringlb-owners': 'forged',
      });
      expect(got.headers['x-ringlb-previous-owner']).toBeUndefined();
      const owners = (got.headers['x-ringlb-owners'] as string).split(', ');
      expect(owners).toHaveLength(2);
      const route = lb.cluster.table.routes.find((r) => r.name === ownerOf(ring, key))!;
      expect(owners[0]).toBe(`${route.name} ${route.origin}`);
      expect(owners[1]).not.toBe(owners[0]);
    }
  });

  it('after /add, exactly the keys that moved name their previous owner to the new one, for the window', async () => {
    const before = lb.cluster.table;
    const added = await call(`${lb.url}/add`, {
      method: 'POST',
      json: { backends: [servers[3]!.url], hostnames: ['S4'] },
    });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    const changedAt = Date.now();
    const after = lb.cluster.table.ring;
    const replies = new Map<number, Awaited<ReturnType<typeof send>>>();
    for (let i = 0; i < KEYS.length; i += 25) {
      const batch = KEYS.slice(i, i + 25);
      const got = await Promise.all(
        batch.map((key) => send(lb, key, { 'x-ringlb-previous-owner': 'Server 9 http://evil:1' })),
      );
      batch.forEach((key, j) => replies.set(key, got[j]!));
    }
    // All within the window (a busy machine could make this take longer: then the test says so).
    expect(Date.now() - changedAt).toBeLessThan(WINDOW_S * 1000);
    let moved = 0;
    for (const key of KEYS) {
      const got = replies.get(key)!;
      const from = ownerOf(before.ring, key);
      const to = ownerOf(after, key);
      const hint = got.headers['x-ringlb-previous-owner'];
      if (from === to) {
        expect(hint, `key ${key}`).toBeUndefined();
      } else {
        moved++;
        expect(to).toBe('S4');
        const route = before.routes.find((r) => r.name === from)!;
        expect(hint, `key ${key}`).toBe(`${from} ${route.origin}`);
      }
    }
    expect(moved).toBeGreaterThan(10);
    // After the window, the previous ring is dropped: no key carries a hint.
    await new Promise((resolve) => setTimeout(resolve, changedAt + WINDOW_S * 1000 + 200 - Date.now()));
    for (const key of KEYS.slice(0, 50)) {
      expect((await send(lb, key)).headers['x-ringlb-previous-owner']).toBeUndefined();
    }
  });

  it('a removed replica is not named: there is no one to ask', async () => {
    const removed = await call(`${lb.url}/rm`, { method: 'POST', json: { hostnames: ['S4'] } });
    expect(removed.status).toBe(200);
    await waitFor('S4 out of the ring', () =>
      lb.cluster.table.routes.some((r) => r.name === 'S4') ? undefined : true,
    );
    for (const key of KEYS.slice(0, 80)) {
      expect((await send(lb, key)).headers['x-ringlb-previous-owner']).toBeUndefined();
    }
  });
});

describe('hint headers with hints off (the fast path)', () => {
  it("a client's x-ringlb-previous-owner and x-ringlb-owners never reach a replica", async () => {
    const backend = await echo('a');
    const lb = await balancer({ provider: 'static', healthPath: '/health', backends: [backend.url] });
    try {
      const got = await send(lb, 42, {
        'x-ringlb-previous-owner': 'x http://evil:1',
        'x-ringlb-owners': 'y',
      });
      expect(got.headers['x-ringlb-previous-owner']).toBeUndefined();
      expect(got.headers['x-ringlb-owners']).toBeUndefined();
      expect(got.headers['x-request-id']).toBe('42');
    } finally {
      await lb.close();
      backend.server.closeAllConnections();
      backend.server.close();
    }
  });
});
