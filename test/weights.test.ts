import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KetamaRing } from '../src/ring/ketama/ketama-ring.js';
import { movedFraction } from '../src/ring/moved.js';
import { balancer, call } from './helpers.js';

type Started = Awaited<ReturnType<typeof balancer>>;

/** Requests with spread ids, counted by the replica that answered (by number). */
async function spread(lb: Started, count: number): Promise<Map<number, number>> {
  const hits = new Map<number, number>();
  for (let start = 0; start < count; start += 100) {
    const replies = await Promise.all(
      Array.from({ length: 100 }, (_, k) =>
        call(`${lb.url}/home`, { headers: { 'x-request-id': String((start + k) * 104_729 + 7) } }),
      ),
    );
    for (const reply of replies) {
      const number = Number(/Server: (\d+)/.exec(reply.body.message)![1]);
      hits.set(number, (hits.get(number) ?? 0) + 1);
    }
  }
  return hits;
}

describe('replica weights over HTTP (ketama)', () => {
  let lb: Started;
  beforeAll(async () => {
    lb = await balancer({ ring: 'ketama' });
  });
  afterAll(async () => {
    await lb?.close();
  });

  it('POST /add with weights: the replica owns its weighted share, shown by GET /ring', async () => {
    const before = lb.cluster.table.ring;
    const reply = await call(`${lb.url}/add`, {
      method: 'POST',
      json: { hostnames: ['S5'], weights: { S5: 2 } },
    });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.body.moved).toBe(movedFraction(before, lb.cluster.table.ring));
    expect(lb.cluster.table.routes.map((r) => r.weight)).toEqual([1, 1, 1, 2]);
    const ring = (await call(`${lb.url}/ring`)).body.message;
    const s5 = ring.replicas.find((r: { name: string }) => r.name === 'S5');
    expect(s5.weight).toBe(2);
    const expected = new KetamaRing([...before.members, { name: 'S5', number: 4, weight: 2 }]).shares();
    expect(ring.replicas.map((r: { share: number }) => r.share)).toEqual(expected);
    expect(s5.share).toBeGreaterThan(0.3);
    // Real traffic follows the weights: S5 takes about twice a weight-1 replica's requests.
    const hits = await spread(lb, 2000);
    const others = [1, 2, 3].map((n) => hits.get(n) ?? 0);
    const mean = others.reduce((a, b) => a + b, 0) / 3;
    expect((hits.get(4) ?? 0) / mean).toBeGreaterThan(1.5);
    expect((hits.get(4) ?? 0) / mean).toBeLessThan(2.6);
  });

  it('PUT /replicas/<name> changes the weight live and reports moved; dry_run previews it exactly', async () => {
    const dry = await call(`${lb.url}/replicas/S5?dry_run=true`, {
      method: 'PUT',
      json: { weight: 1, keys: ['1', '2', '3'] },
    });
    expect(dry.status, JSON.stringify(dry.body)).toBe(200);
    expect(dry.body.dryRun).toBe(true);
    expect(lb.cluster.weightOf('S5')).toBe(2);
    const before = lb.cluster.table.ring;
    const reply = await call(`${lb.url}/replicas/S5`, { method: 'PUT', json: { weight: 1 } });
    expect(reply.status).toBe(200);
    expect(reply.body.message).toEqual({ name: 'S5', weight: 1 });
    expect(reply.body.moved).toBe(movedFraction(before, lb.cluster.table.ring));
    expect(reply.body.moved).toBeGreaterThan(0.05);
    expect(dry.body.moved).toBe(reply.body.moved);
    const ring = lb.cluster.table.ring;
    for (const key of ['1', '2', '3']) {
      expect(dry.body.owners[key].after).toBe(ring.members[ring.pick(Number(key))]!.name);
    }
    const named = await call(`${lb.url}/replicas/Server%201`, { method: 'PUT', json: { weight: 0.5 } });
    expect(named.status).toBe(200);
    expect(lb.cluster.weightOf('Server 1')).toBe(0.5);
  });

  it('refuses an unknown replica, a bad weight and a wrong method, changing nothing', async () => {
    const ring = (await call(`${lb.url}/ring`)).body;
    const unknown = await call(`${lb.url}/replicas/nope`, { method: 'PUT', json: { weight: 2 } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toBe("<Error> hostname 'nope' is not a replica");
    const bad = await call(`${lb.url}/replicas/S5`, { method: 'PUT', json: { weight: -1 } });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/greater than 0/);
    const nameless = await call(`${lb.url}/replicas/`, { method: 'PUT', json: { weight: 2 } });
    expect(nameless.status).toBe(400);
    const get = await call(`${lb.url}/replicas/S5`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('PUT');
    expect((await call(`${lb.url}/ring`)).body).toEqual(ring);
  });

  it('refuses to switch to the classic ring while a replica has a weight', async () => {
    const reply = await call(`${lb.url}/ring`, { method: 'PUT', json: { algorithm: 'classic' } });
    expect(reply.status).toBe(400);
    expect(reply.body.message).toMatch(/the classic ring has no weights, and 'Server 1' has weight 0.5/);
    expect((await call(`${lb.url}/ring`)).body.message.algorithm).toBe('ketama');
  });
});

describe('replica weights on the classic ring', () => {
  let lb: Started;
  beforeAll(async () => {
    lb = await balancer();
  });
  afterAll(async () => {
    await lb?.close();
  });

  it('refuses weights with a clear 400: the seed’s ring has none', async () => {
    const message =
      "<Error> the classic ring has no weights (the seed's ring places replicas by number only): switch to ketama, maglev or rendezvous first (PUT /ring)";
    const add = await call(`${lb.url}/add`, {
      method: 'POST',
      json: { hostnames: ['S5'], weights: { S5: 2 } },
    });
    expect(add.status).toBe(400);
    expect(add.body.message).toBe(message);
    const dry = await call(`${lb.url}/add?dry_run=true`, {
      method: 'POST',
      json: { hostnames: ['S5'], weights: { S5: 2 } },
    });
    expect(dry.status).toBe(400);
    const put = await call(`${lb.url}/replicas/Server%201`, { method: 'PUT', json: { weight: 2 } });
    expect(put.status).toBe(400);
    expect(put.body.message).toBe(message);
    expect((await call(`${lb.url}/rep`)).body.message.N).toBe(3);
    const ring = (await call(`${lb.url}/ring`)).body.message;
    expect(ring.replicas.map((r: { weight: number }) => r.weight)).toEqual([1, 1, 1]);
  });
});
