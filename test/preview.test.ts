import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RingAlgorithm } from '../src/ring/registry.js';
import { balancer, call } from './helpers.js';

type Started = Awaited<ReturnType<typeof balancer>>;

/** Keys as `--hash-key request-id` reads them: the seed's integer ids, in decimal. */
const KEYS = Array.from({ length: 300 }, (_, k) => String(k * 7919 + 13));

/** Each key's owner in the ring the balancer routes with right now. */
function owners(lb: Started, keys: readonly string[]): Record<string, string> {
  const ring = lb.cluster.table.ring;
  return Object.fromEntries(keys.map((key) => [key, ring.members[ring.pick(Number(key))]!.name]));
}

/** The replica a real request with this id reaches, by name (replicas answer with their number). */
async function routedTo(lb: Started, key: string): Promise<string> {
  const reply = await call(`${lb.url}/home`, { headers: { 'x-request-id': key } });
  const number = Number(/Server: (\d+)/.exec(reply.body.message)![1]);
  return lb.cluster.table.ring.members.find((m) => m.number === number)!.name;
}

async function preview(lb: Started, method: string, path: string, json: unknown) {
  const before = { rep: (await call(`${lb.url}/rep`)).body, ring: (await call(`${lb.url}/ring`)).body };
  const reply = await call(`${lb.url}${path}?dry_run=true`, { method, json });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  expect(reply.body.dryRun).toBe(true);
  expect(reply.body.status).toBe('successful');
  // Nothing changed.
  expect((await call(`${lb.url}/rep`)).body).toEqual(before.rep);
  expect((await call(`${lb.url}/ring`)).body).toEqual(before.ring);
  return reply.body;
}

/** The preview's moved, shares, owners and replica list equal those of the applied change. */
async function expectPreviewMatches(lb: Started, method: string, path: string, change: unknown) {
  const dry = await preview(lb, method, path, { ...(change as object), keys: KEYS });
  const sharesBefore = lb.cluster.table.ring.shares();
  const namesBefore = lb.cluster.table.ring.members.map((m) => m.name);
  for (const [i, name] of namesBefore.entries()) expect(dry.shares[name].before).toBe(sharesBefore[i]);
  const ownersBefore = owners(lb, KEYS);
  const real = await call(`${lb.url}${path}`, { method, json: change });
  expect(real.status, JSON.stringify(real.body)).toBe(200);
  expect(dry.moved).toBe(real.body.moved);
  expect(dry.message).toEqual(real.body.message);
  const after = owners(lb, KEYS);
  for (const key of KEYS) expect(dry.owners[key]).toEqual({ before: ownersBefore[key], after: after[key] });
  const ring = lb.cluster.table.ring;
  const sharesAfter = ring.shares();
  for (const [i, m] of ring.members.entries()) expect(dry.shares[m.name].after).toBe(sharesAfter[i]);
  // Real requests reach the owners the preview named.
  for (const key of KEYS.slice(0, 12)) expect(await routedTo(lb, key)).toBe(dry.owners[key].after);
  return { dry, real: real.body };
}

const RINGS: { algorithm: RingAlgorithm; balanceFactor?: number; next: RingAlgorithm }[] = [
  { algorithm: 'classic', next: 'ketama' },
  { algorithm: 'ketama', next: 'rendezvous' },
  { algorithm: 'maglev', next: 'classic' },
  { algorithm: 'rendezvous', next: 'maglev' },
  { algorithm: 'ketama', balanceFactor: 1.25, next: 'maglev' },
];

describe.each(RINGS)('dry_run previews on $algorithm (balance factor $balanceFactor)', (setup) => {
  let lb: Started;
  beforeAll(async () => {
    lb = await balancer({ ring: setup.algorithm, balanceFactor: setup.balanceFactor ?? 0 });
  });
  afterAll(async () => {
    await lb?.close();
  });

  it('POST /add: moved, shares and per-key owners equal those of the applied change', async () => {
    const { dry } = await expectPreviewMatches(lb, 'POST', '/add', { hostnames: ['S4'] });
    expect(dry.added).toEqual(['S4']);
    expect(dry.shares.S4.before).toBe(0);
    expect(dry.shares.S4.after).toBeGreaterThan(0);
    expect(dry.moved).toBeGreaterThan(0);
  });

  it('DELETE /rm by name: the same', async () => {
    const { dry } = await expectPreviewMatches(lb, 'DELETE', '/rm', { hostnames: ['Server 2'] });
    expect(dry.removed).toEqual(['Server 2']);
    expect(dry.shares['Server 2'].after).toBe(0);
  });

  it('PUT /ring: the same, with the new ring described', async () => {
    const { dry, real } = await expectPreviewMatches(lb, 'PUT', '/ring', { algorithm: setup.next });
    expect(dry.message.algorithm).toBe(setup.next);
    expect(real.message.algorithm).toBe(setup.next);
  });
});

describe('dry_run: random removals, bad queries and bad keys', () => {
  let lb: Started;
  beforeAll(async () => {
    lb = await balancer({ ring: 'ketama', replicas: 4 });
  });
  afterAll(async () => {
    await lb?.close();
  });

  it('POST /rm without names names the replicas it chose; removing those by name matches it', async () => {
    const dry = await preview(lb, 'POST', '/rm', { n: 2 });
    expect(dry.removed).toHaveLength(2);
    expect(dry.message.N).toBe(2);
    const real = await call(`${lb.url}/rm`, { method: 'POST', json: { hostnames: dry.removed } });
    expect(real.body.moved).toBe(dry.moved);
    expect(real.body.message).toEqual(dry.message);
  });

  it('refuses an unknown query parameter, a bad dry_run and a query /rep does not take, changing nothing', async () => {
    const rep = (await call(`${lb.url}/rep`)).body;
    const cases: [string, string, RegExp][] = [
      ['POST', '/add?dryrun=true', /unknown query parameter 'dryrun': expected 'dry_run'/],
      ['POST', '/add?dry_run=maybe', /'dry_run' must be true or false, not "maybe"/],
      ['DELETE', '/rm?dry_run=true&dry_run=false', /given twice/],
      ['PUT', '/ring?force=1', /unknown query parameter 'force'/],
      ['GET', '/rep?n=3', /unknown query parameter 'n': expected 'verbose'/],
      ['GET', '/rep?verbose=yes', /'verbose' must be true or false, not "yes"/],
      ['GET', '/ring?dry_run=true', /this call takes none/],
    ];
    for (const [method, path, message] of cases) {
      const json = method === 'PUT' ? { algorithm: 'maglev' } : method === 'GET' ? undefined : {};
      const reply = await call(`${lb.url}${path}`, { method, json });
      expect(reply.status, path).toBe(400);
      expect(reply.body.status).toBe('failure');
      expect(reply.body.message).toMatch(message);
    }
    expect((await call(`${lb.url}/rep`)).body).toEqual(rep);
    expect((await call(`${lb.url}/ring`)).body.message.algorithm).toBe('ketama');
  });

  it('dry_run=false makes the change; keys outside a dry run, bad keys and bad changes are refused', async () => {
    const added = await call(`${lb.url}/add?dry_run=false`, { method: 'POST', json: { hostnames: ['S9'] } });
    expect(added.status).toBe(200);
    expect(added.body.dryRun).toBeUndefined();
    expect(added.body.message.replicas).toContain('S9');
    const keysOutside = await call(`${lb.url}/add`, { method: 'POST', json: { keys: ['1'] } });
    expect(keysOutside.status).toBe(400);
    expect(keysOutside.body.message).toMatch(/unknown field 'keys'/);
    const notAnId = await call(`${lb.url}/add?dry_run=true`, { method: 'POST', json: { keys: ['abc'] } });
    expect(notAnId.status).toBe(400);
    expect(notAnId.body.message).toMatch(/key "abc" is not one a request could carry/);
    const notStrings = await call(`${lb.url}/add?dry_run=true`, { method: 'POST', json: { keys: [1] } });
    expect(notStrings.body.message).toMatch(/'keys' must be a list of strings/);
    const unknown = await call(`${lb.url}/rm?dry_run=true`, {
      method: 'POST',
      json: { hostnames: ['nope'] },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toBe("<Error> hostname 'nope' is not a replica");
    const full = await call(`${lb.url}/ring?dry_run=true`, {
      method: 'PUT',
      json: { algorithm: 'classic', ringSize: 16 },
    });
    expect(full.status).toBe(400);
    expect(full.body.message).toMatch(/that ring holds at most 1 replicas/);
    expect((await call(`${lb.url}/ring`)).body.message.algorithm).toBe('ketama');
  });
});

describe('dry_run with a string hash key', () => {
  let lb: Started;
  beforeAll(async () => {
    lb = await balancer({ ring: 'rendezvous', hashKey: 'header:x-user' });
  });
  afterAll(async () => {
    await lb?.close();
  });

  it('reads keys as the hash key does: each user is routed where the preview said', async () => {
    const users = ['alice', 'bob', 'carol', 'dave', 'erin', '__proto__'];
    const dry = await preview(lb, 'POST', '/add', { keys: users });
    await call(`${lb.url}/add`, { method: 'POST' });
    for (const user of users) {
      const reply = await call(`${lb.url}/home`, { headers: { 'x-user': user } });
      const number = Number(/Server: (\d+)/.exec(reply.body.message)![1]);
      expect(`Server ${number}`).toBe(dry.owners[user].after);
    }
  });
});

describe.each(['ketama', 'maglev', 'rendezvous'] as const)('dry_run with weights on %s', (algorithm) => {
  let lb: Started;
  beforeAll(async () => {
    lb = await balancer({ ring: algorithm });
  });
  afterAll(async () => {
    await lb?.close();
  });

  it('POST /add with weights, POST /rm by name and PUT /replicas/<name>: the preview equals the change', async () => {
    const { dry } = await expectPreviewMatches(lb, 'POST', '/add', { hostnames: ['S5'], weights: { S5: 2 } });
    expect(dry.shares.S5.after).toBeGreaterThan(dry.shares['Server 1'].after);
    await expectPreviewMatches(lb, 'POST', '/rm', { hostnames: ['Server 1'] });
    const before = owners(lb, KEYS);
    const weight = await call(`${lb.url}/replicas/Server%202?dry_run=true`, {
      method: 'PUT',
      json: { weight: 3, keys: KEYS },
    });
    expect(weight.status, JSON.stringify(weight.body)).toBe(200);
    const real = await call(`${lb.url}/replicas/Server%202`, { method: 'PUT', json: { weight: 3 } });
    expect(real.status).toBe(200);
    expect(weight.body.moved).toBe(real.body.moved);
    const after = owners(lb, KEYS);
    for (const key of KEYS)
      expect(weight.body.owners[key]).toEqual({ before: before[key], after: after[key] });
  });
});

describe.each(['ketama', 'maglev', 'rendezvous'] as const)('dry_run with slow start on %s', (algorithm) => {
  let lb: Started;
  beforeAll(async () => {
    // A long window: its steps (one a second) move so few keys that none moves while the test looks.
    lb = await balancer({ ring: algorithm, slowStart: 3_600 });
  });
  afterAll(async () => {
    await lb?.close();
  });

  it('POST /add: the preview equals the change as applied (the first step of the ramp)', async () => {
    await expectPreviewMatches(lb, 'POST', '/add', { hostnames: ['S4'] });
    expect(lb.cluster.warming('S4')).toBeDefined();
  });
});
