import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClassicRing } from '../src/ring/classic/classic-ring.js';
import { balancer, call } from './helpers.js';

type Started = Awaited<ReturnType<typeof balancer>>;

function replicas(...names: string[]) {
  return { message: { N: names.length, replicas: names }, status: 'successful' };
}

function failure(message: string) {
  return { message, status: 'failure' };
}

describe('control API over real HTTP', () => {
  let lb: Started;
  beforeAll(async () => {
    lb = await balancer();
  });
  afterAll(async () => {
    await lb?.close();
  });

  /** Every failing call must leave membership exactly as it was. */
  async function expectRejected(
    path: string,
    init: Parameters<typeof call>[1],
    status: number,
    message: string | RegExp,
  ) {
    const before = await call(`${lb.url}/rep`);
    const reply = await call(`${lb.url}${path}`, init);
    expect(reply.status).toBe(status);
    expect(reply.body.status).toBe('failure');
    if (typeof message === 'string') expect(reply.body.message).toBe(message);
    else expect(reply.body.message).toMatch(message);
    expect(await call(`${lb.url}/rep`)).toMatchObject({ status: 200, body: before.body });
  }

  it('lists the three default replicas', async () => {
    const reply = await call(`${lb.url}/rep`);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toBe('application/json');
    expect(reply.body).toEqual(replicas('Server 1', 'Server 2', 'Server 3'));
  });

  it('proxies /home to the replica the seed ring picks for x-request-id', async () => {
    const ring = new ClassicRing(lb.cluster.table.ring.members);
    for (const id of [1, 17, 333, 100000, 123456, 999999]) {
      const reply = await call(`${lb.url}/home`, { headers: { 'x-request-id': String(id) } });
      const expected = ring.members[ring.pick(id)]!.number;
      expect(reply).toMatchObject({
        status: 200,
        body: { message: `Hello from Server: ${expected}`, status: 'successful' },
      });
    }
  });

  it('sends the same id to the same replica every time while membership is unchanged', async () => {
    // Spread ids over every replica: the seed's ring gives most of them to Server 1.
    const ids = Array.from({ length: 120 }, (_, k) => 100 + k * 7919);
    const first = await Promise.all(
      ids.map((id) => call(`${lb.url}/home`, { headers: { 'x-request-id': String(id) } })),
    );
    const seen = new Set(first.map((reply) => reply.body.message));
    expect(seen.size).toBe(3);
    for (let round = 0; round < 2; round++) {
      const again = await Promise.all(
        ids.map((id) => call(`${lb.url}/home`, { headers: { 'x-request-id': String(id) } })),
      );
      expect(again.map((reply) => reply.body.message)).toEqual(first.map((reply) => reply.body.message));
    }
  });

  it('answers a path no replica serves with the seed error, without a request id too', async () => {
    const reply = await call(`${lb.url}/other?x=1`);
    expect(reply).toMatchObject({
      status: 400,
      body: failure("<Error> '/other' endpoint does not exist in server replicas"),
    });
    expect((await call(`${lb.url}/heartbeat`)).status).toBe(200);
  });

  it('adds one generated replica with no body, and named ones with a body', async () => {
    expect((await call(`${lb.url}/add`, { method: 'POST' })).body).toEqual({
      ...replicas('Server 1', 'Server 2', 'Server 3', 'Server 4'),
      moved: expect.any(Number),
    });
    const named = await call(`${lb.url}/add`, { method: 'POST', json: { n: 3, hostnames: ['S5', 'S6'] } });
    expect(named.status).toBe(200);
    expect(named.body).toEqual({
      ...replicas('Server 1', 'Server 2', 'Server 3', 'Server 4', 'S5', 'S6', 'Server 7'),
      moved: expect.any(Number),
    });
    // S5 holds number 5: its SERVER_ID is 5, and ids the ring gives number 5 reach it.
    const ring = lb.cluster.table.ring;
    const id = Array.from({ length: 100_000 }, (_, k) => k).find(
      (k) => ring.members[ring.pick(k)]!.name === 'S5',
    );
    expect(id).toBeDefined();
    const reply = await call(`${lb.url}/home`, { headers: { 'x-request-id': String(id) } });
    expect(reply.body.message).toBe('Hello from Server: 5');
  });

  it('removes named replicas first and the rest at random, with POST and DELETE, with and without a body', async () => {
    const named = await call(`${lb.url}/rm`, { method: 'DELETE', json: { n: 2, hostnames: ['S5'] } });
    expect(named.status).toBe(200);
    expect(named.body.message.N).toBe(5);
    expect(named.body.message.replicas).not.toContain('S5');
    const one = await call(`${lb.url}/rm`, { method: 'POST' });
    expect(one.body.message.N).toBe(4);
    const byName = await call(`${lb.url}/rm`, {
      method: 'POST',
      json: { hostnames: [one.body.message.replicas[0]] },
    });
    expect(byName.body.message.N).toBe(3);
    expect(lb.provider.list()).toHaveLength(3);
  });

  it('gives a new replica the lowest free number', async () => {
    const before = (await call(`${lb.url}/rep`)).body.message.replicas as string[];
    const numbers = lb.cluster.describe().map((r) => r.number);
    let free = 1;
    while (numbers.includes(free)) free++;
    const after = await call(`${lb.url}/add`, { method: 'POST', json: { n: 1 } });
    expect(after.body.message.N).toBe(before.length + 1);
    expect(lb.cluster.describe().find((r) => r.number === free)?.name).toBe(`Server ${free}`);
  });

  it('refuses every bad input with a 400 that says why, and changes nothing', async () => {
    await expectRejected(
      '/add',
      { method: 'POST', json: { n: 1, hostnames: ['a', 'b'] } },
      400,
      '<Error> Length of hostname list is more than newly added instances',
    );
    await expectRejected(
      '/rm',
      { method: 'DELETE', json: { n: 1, hostnames: ['a', 'b'] } },
      400,
      '<Error> Length of hostname list is more than removable instances',
    );
    await expectRejected(
      '/add',
      { method: 'POST', body: '{"n":' },
      400,
      '<Error> the body is not valid JSON',
    );
    await expectRejected(
      '/add',
      { method: 'POST', json: { n: 0 } },
      400,
      "<Error> 'n' must be a positive integer",
    );
    await expectRejected(
      '/add',
      { method: 'POST', json: { n: 'two' } },
      400,
      "<Error> 'n' must be a positive integer",
    );
    await expectRejected(
      '/rm',
      { method: 'POST', json: { n: -1 } },
      400,
      "<Error> 'n' must be a positive integer",
    );
    await expectRejected(
      '/add',
      { method: 'POST', json: { hostnames: ['bad name'] } },
      400,
      /is not a safe name/,
    );
    await expectRejected(
      '/add',
      { method: 'POST', json: { hostnames: ['x', 'x'] } },
      400,
      "<Error> hostname 'x' is listed twice",
    );
    await expectRejected('/add', { method: 'POST', json: { size: 2 } }, 400, /unknown field 'size'/);
    await expectRejected(
      '/add',
      { method: 'POST', json: { hostnames: ['Server 1'] } },
      400,
      /is not a safe name/,
    );
    await expectRejected(
      '/rm',
      { method: 'POST', json: { hostnames: ['nobody'] } },
      400,
      "<Error> hostname 'nobody' is not a replica",
    );
    await expectRejected(
      '/rm',
      { method: 'POST', json: { n: 99 } },
      400,
      /cannot remove 99 replicas: there are only \d+/,
    );
    await expectRejected(
      '/add',
      { method: 'POST', json: { n: 999 } },
      400,
      /cannot add 999 replicas: the ring holds at most 56/,
    );
    await expectRejected(
      '/add',
      { method: 'GET' },
      405,
      '<Error> method GET is not allowed on /add; use POST',
    );
    await expectRejected(
      '/rep',
      { method: 'POST' },
      405,
      '<Error> method POST is not allowed on /rep; use GET or HEAD',
    );
    await expectRejected(
      '/add',
      { method: 'POST', body: 'x'.repeat(70_000) },
      413,
      /larger than 65536 bytes/,
    );
  });

  it('refuses a name already in use', async () => {
    await call(`${lb.url}/add`, { method: 'POST', json: { hostnames: ['dup'] } });
    await expectRejected(
      '/add',
      { method: 'POST', json: { hostnames: ['dup'] } },
      400,
      "<Error> hostname 'dup' is already in use",
    );
    await call(`${lb.url}/rm`, { method: 'POST', json: { hostnames: ['dup'] } });
  });

  it('serialises concurrent changes: every add lands, numbers and names stay unique', async () => {
    const before = (await call(`${lb.url}/rep`)).body.message.N as number;
    const adds = await Promise.all(
      Array.from({ length: 5 }, (_, k) =>
        call(`${lb.url}/add`, { method: 'POST', json: k % 2 ? { hostnames: [`c${k}`] } : {} }),
      ),
    );
    expect(adds.every((reply) => reply.status === 200)).toBe(true);
    const described = lb.cluster.describe();
    expect(described).toHaveLength(before + 5);
    expect(new Set(described.map((r) => r.number)).size).toBe(described.length);
    expect(new Set(described.map((r) => r.name)).size).toBe(described.length);
    expect(described.every((r) => r.state === 'healthy')).toBe(true);
    expect(lb.cluster.table.ring.members).toHaveLength(before + 5);
    expect(lb.provider.list()).toHaveLength(before + 5);
    // Concurrent adds and removes end where their sum says.
    const mixed = await Promise.all([
      call(`${lb.url}/rm`, { method: 'POST', json: { n: 2 } }),
      call(`${lb.url}/add`, { method: 'POST', json: { n: 1 } }),
      call(`${lb.url}/rm`, { method: 'DELETE' }),
    ]);
    expect(mixed.map((reply) => reply.status)).toEqual([200, 200, 200]);
    expect((await call(`${lb.url}/rep`)).body.message.N).toBe(before + 3);
    expect(lb.provider.list()).toHaveLength(before + 3);
  });
});
