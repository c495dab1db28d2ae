import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { xxh32String } from '../src/core/xxhash32.js';
import { KetamaRing } from '../src/ring/ketama/ketama-ring.js';
import { MaglevRing } from '../src/ring/maglev/maglev-ring.js';
import { movedFraction } from '../src/ring/moved.js';
import { balancer, call } from './helpers.js';

type Started = Awaited<ReturnType<typeof balancer>>;

describe('ring settings at start and live, hash keys, over real HTTP', () => {
  let lb: Started;
  beforeAll(async () => {
    lb = await balancer({ ring: 'ketama', hashKey: 'header:x-user' });
  });
  afterAll(async () => {
    await lb?.close();
  });

  async function expectRefused(body: unknown, status: number, message: string | RegExp) {
    const before = await call(`${lb.url}/ring`);
    const reply = await call(`${lb.url}/ring`, {
      method: 'PUT',
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    expect(reply.status).toBe(status);
    expect(reply.body.status).toBe('failure');
    if (typeof message === 'string') expect(reply.body.message).toBe(message);
    else expect(reply.body.message).toMatch(message);
    expect((await call(`${lb.url}/ring`)).body).toEqual(before.body);
  }

  it('shows the algorithm, its settings and each replica’s share', async () => {
    const reply = await call(`${lb.url}/ring`);
    expect(reply.status).toBe(200);
    expect(reply.body.status).toBe('successful');
    expect(reply.body.message.algorithm).toBe('ketama');
    expect(reply.body.message.settings).toEqual({
      ringSize: 512,
      vnodes: 9,
      ketamaPoints: 160,
      maglevTableSize: 65537,
      balanceFactor: 0,
    });
    const replicas = reply.body.message.replicas as { name: string; share: number }[];
    expect(replicas.map((r) => r.name)).toEqual(['Server 1', 'Server 2', 'Server 3']);
    const expected = new KetamaRing(lb.cluster.table.ring.members).shares();
    expect(replicas.map((r) => r.share)).toEqual(expected);
  });

  it('routes by the configured header: the same user always reaches the replica the ring picks', async () => {
    const ring = lb.cluster.table.ring;
    for (const user of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']) {
      const expected = ring.members[ring.pick(xxh32String(user))]!.number;
      for (let again = 0; again < 3; again++) {
        const reply = await call(`${lb.url}/home`, { headers: { 'x-user': user } });
        expect(reply.body.message).toBe(`Hello from Server: ${expected}`);
      }
    }
    // Without the header the request still succeeds, on a random replica.
    expect((await call(`${lb.url}/home`)).status).toBe(200);
  });

  it('switches to maglev live and reports the fraction of keys that moved', async () => {
    const members = lb.cluster.table.ring.members;
    const reply = await call(`${lb.url}/ring`, { method: 'PUT', json: { algorithm: 'maglev' } });
    expect(reply.status).toBe(200);
    expect(reply.body.message.algorithm).toBe('maglev');
    expect(reply.body.moved).toBe(movedFraction(new KetamaRing(members), new MaglevRing(members)));
    expect(reply.body.moved).toBeGreaterThan(0.3);
    expect(lb.cluster.table.ring).toBeInstanceOf(MaglevRing);
    const ring = lb.cluster.table.ring;
    const expected = ring.members[ring.pick(xxh32String('alice'))]!.number;
    const routed = await call(`${lb.url}/home`, { headers: { 'x-user': 'alice' } });
    expect(routed.body.message).toBe(`Hello from Server: ${expected}`);
  });

  it('reports the measured moved fraction when a replica joins', async () => {
    const before = lb.cluster.table.ring;
    const reply = await call(`${lb.url}/add`, { method: 'POST' });
    expect(reply.status).toBe(200);
    expect(reply.body.message.N).toBe(4);
    expect(reply.body.moved).toBe(movedFraction(before, lb.cluster.table.ring));
    // Maglev moves about 1/4 of the keys to the fourth replica.
    expect(reply.body.moved).toBeGreaterThan(0.2);
    expect(reply.body.moved).toBeLessThan(0.32);
  });

  it('turns on bounded loads live', async () => {
    const reply = await call(`${lb.url}/ring`, { method: 'PUT', json: { balanceFactor: 1.25 } });
    expect(reply.status).toBe(200);
    expect(reply.body.message.settings.balanceFactor).toBe(1.25);
    // Ownership does not change with bounded loads; only overloaded replicas are skipped.
    expect(reply.body.moved).toBe(0);
    const replies = await Promise.all(
      Array.from({ length: 40 }, () => call(`${lb.url}/home`, { headers: { 'x-user': 'alice' } })),
    );
    expect(replies.every((reply) => reply.status === 200)).toBe(true);
    // The data path counts each request in flight on its replica and releases it when answered.
    expect(Array.from(lb.cluster.table.loads)).toEqual([0, 0, 0, 0]);
  });

  it('refuses bad settings with a clear message and changes nothing', async () => {
    await expectRefused(
      { maglevTableSize: 65536 },
      400,
      "<Error> 'maglevTableSize': the maglev table size must be a prime number; 65536 is not (nearest primes: 65521, 65537)",
    );
    await expectRefused(
      { algorithm: 'chord' },
      400,
      /'algorithm': expected one of classic, ketama, maglev, rendezvous, got "chord"/,
    );
    await expectRefused({ balanceFactor: 0.5 }, 400, /balance factor must be 0 \(off\) or from 1 to 100/);
    await expectRefused(
      { ketamaPoints: 1.5 },
      400,
      /'ketamaPoints': expected a whole number from 1 to 10000, got 1.5/,
    );
    await expectRefused({ size: 3 }, 400, /unknown field 'size'/);
    await expectRefused({}, 400, /the body names no setting/);
    await expectRefused('not json', 400, '<Error> the body is not valid JSON');
    await expectRefused([1], 400, '<Error> the body must be a JSON object');
    // The classic ring with 16 slots and 9 virtual nodes holds one replica, not four.
    await expectRefused(
      { algorithm: 'classic', ringSize: 16 },
      400,
      '<Error> that ring holds at most 1 replicas and there are 4',
    );
    const wrong = await call(`${lb.url}/ring`, { method: 'DELETE' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, HEAD, PUT');
  });
});
