import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { MAIN } from './cli-process.js';
import { call, isAlive, waitFor } from './helpers.js';
import {
  EtcdCluster,
  etcdAvailable,
  killMarked,
  markedReplicaPids,
  routeOf,
  startInstance,
  type Instance,
} from './etcd-helpers.js';

const available = etcdAvailable();
// The default hash key is the seed's integer x-request-id.
const KEYS = Array.from({ length: 200 }, (_, i) => String(i * 7919 + 1));
let clusters = 0;
const clusterOfInstance = new Map<Instance, string>();
const clusterOf = (instance: Instance) => clusterOfInstance.get(instance)!;

/** The replica names each instance reports, sorted. */
async function reps(instances: readonly Instance[]): Promise<string[][]> {
  return Promise.all(
    instances.map(async (i) => ((await call(`${i.url}/rep`)).body.message.replicas as string[]).sort()),
  );
}

async function routes(url: string): Promise<string[]> {
  return Promise.all(KEYS.map((key) => routeOf(url, key)));
}

/** Waits until every instance routes every key to the same replica, with `n` replicas each. */
async function agree(instances: readonly Instance[], n: number, timeoutMs = 10_000): Promise<string[]> {
  let last = '';
  return waitFor(
    `${instances.length} instances to agree on ${n} replicas`,
    async () => {
      const seen = await reps(instances);
      last = JSON.stringify(seen);
      if (seen.some((names) => names.length !== n || names.join() !== seen[0]!.join())) return undefined;
      const all = await Promise.all(instances.map((i) => routes(i.url)));
      last = JSON.stringify(
        all.map((r) => ({
          bad: r.filter((route) => !route.startsWith('200 ')).slice(0, 2),
          differ: r.filter((route, k) => route !== all[0]![k]).length,
        })),
      );
      if (all.some((r) => r.some((route) => !route.startsWith('200 ')))) return undefined;
      return all.every((r) => r.join() === all[0]!.join()) ? all[0] : undefined;
    },
    timeoutMs,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; last seen ${last}`);
  });
}

describe.skipIf(!available)('shared membership through etcd', () => {
  let etcd: EtcdCluster;
  const instances: Instance[] = [];

  beforeAll(async () => {
    etcd = await EtcdCluster.start(3);
  }, 30_000);

  afterEach(async () => {
    for (const instance of instances.splice(0))
      if (instance.child.exitCode === null) instance.child.kill('SIGKILL');
    await killMarked();
  });

  afterAll(async () => {
    await killMarked();
    await etcd?.stop();
  });

  async function start(count: number, ...args: string[]): Promise<Instance[]> {
    const name = `t${process.pid}-${++clusters}`;
    const started: Instance[] = [];
    for (let i = 0; i < count; i++) {
      const instance = await startInstance(etcd.endpoints, name, '--replicas', '3', ...args);
      clusterOfInstance.set(instance, name);
      instances.push(instance);
      started.push(instance);
    }
    return started;
  }

  it('routes every key alike on every instance, and an /add on one is routed alike on all', async () => {
    const [a, b, c] = await start(3);
    await agree([a!, b!, c!], 3);
    expect(markedReplicaPids()).toHaveLength(3);
    const added = await call(`${b!.url}/add`, { method: 'POST', json: { n: 1, hostnames: ['extra'] } });
    expect(added.status).toBe(200);
    const at = Date.now();
    await agree([a!, b!, c!], 4, 5_000);
    // The 1 s target is measured by npm run bench:cluster (p99 over many adds); a test only bounds it,
    // loosely, as a loaded CI machine runs it beside other tests (1.2 s was seen at a load of 20).
    const visibleMs = Date.now() - at;
    console.log(`etcd: an /add on one instance routed alike on all 3 after ${visibleMs} ms`);
    expect(visibleMs).toBeLessThan(3_000);
    expect(markedReplicaPids()).toHaveLength(4);
    const removed = await call(`${c!.url}/rm`, { method: 'DELETE', json: { n: 1, hostnames: ['extra'] } });
    expect(removed.status).toBe(200);
    await agree([a!, b!, c!], 3, 5_000);
    await waitFor('the removed replica to stop', () => (markedReplicaPids().length === 3 ? true : undefined));
  }, 60_000);

  it('concurrent /add on two instances loses no update and gives no number twice', async () => {
    const [a, b] = await start(2);
    await agree([a!, b!], 3);
    const results = await Promise.all([
      call(`${a!.url}/add`, { method: 'POST', json: { n: 2, hostnames: [] } }),
      call(`${b!.url}/add`, { method: 'POST', json: { n: 2, hostnames: [] } }),
    ]);
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    await agree([a!, b!], 7, 10_000);
    const [names] = await reps([a!]);
    expect(names).toEqual([
      'Server 1',
      'Server 2',
      'Server 3',
      'Server 4',
      'Server 5',
      'Server 6',
      'Server 7',
    ]);
    await waitFor('seven replica processes', () => (markedReplicaPids().length === 7 ? true : undefined));
    // Ring settings belong to the cluster: no instance may route with others, nor change them alone.
    await expect(
      startInstance(etcd.endpoints, clusterOf(a!), '--replicas', '3', '--ring', 'maglev'),
    ).rejects.toThrow(/exited with 1/);
    const put = await call(`${a!.url}/ring`, { method: 'PUT', json: { algorithm: 'maglev' } });
    expect(put.status).toBe(409);
    expect(put.body.message).toMatch(/shared by the cluster/);
    expect((await call(`${a!.url}/ring`)).body.message.algorithm).toBe('classic');
  }, 60_000);

  it('a SIGKILLed leader is replaced, its replicas adopted, not duplicated nor orphaned', async () => {
    const started = await start(3);
    await agree(started, 3);
    const before = markedReplicaPids().sort();
    expect(before).toHaveLength(3);
    const roles = await Promise.all(
      started.map(async (i) => (await call(`${i.url}/rep`)).headers.get('x-ringlb-membership')),
    );
    expect(roles.filter((role) => role === 'etcd; leader')).toHaveLength(1);
    const leader = started[roles.indexOf('etcd; leader')]!;
    const survivors = started.filter((i) => i !== leader);
    leader.child.kill('SIGKILL');
    const killedAt = Date.now();
    // A replica that dies meanwhile must be replaced by the new leader.
    process.kill(before[0]!, 'SIGKILL');
    await waitFor(
      'a new leader',
      async () => {
        const now = await Promise.all(
          survivors.map(async (i) => (await call(`${i.url}/rep`)).headers.get('x-ringlb-membership')),
        );
        return now.includes('etcd; leader') ? true : undefined;
      },
      10_000,
    );
    // The lease is 3 s; the election adds a little.
    expect(Date.now() - killedAt).toBeLessThan(5_000);
    await waitFor(
      'replacement by the new leader',
      () => {
        const now = markedReplicaPids();
        return now.length === 3 && !now.includes(before[0]!) ? now : undefined;
      },
      15_000,
    );
    const after = markedReplicaPids().sort();
    // The two live replicas were adopted, not restarted; one replacement, no duplicate.
    expect(after.filter((pid) => before.includes(pid))).toEqual(before.slice(1));
    expect(before.slice(1).every(isAlive)).toBe(true);
    await agree(survivors, 3);
    const added = await call(`${survivors[0]!.url}/add`, { method: 'POST', json: { n: 1, hostnames: [] } });
    expect(added.status).toBe(200);
    await waitFor('four replica processes', () => (markedReplicaPids().length === 4 ? true : undefined));
    // `ringlb down` stops every replica of the cluster; the instances stay up with none.
    const down = spawnSync(
      process.execPath,
      [MAIN, 'down', '--etcd-endpoints', etcd.endpoints, '--cluster-name', clusterOf(survivors[0]!)],
      { encoding: 'utf8' },
    );
    expect(down.stdout).toMatch(/4 replicas stopped/);
    expect(down.status).toBe(0);
    await waitFor('no replica process', () => (markedReplicaPids().length === 0 ? true : undefined));
    await waitFor('the survivors to have no replica', async () =>
      (await reps(survivors)).every((names) => names.length === 0) ? true : undefined,
    );
  }, 60_000);

  it('keeps routing while etcd is down, refuses /add with 503, and resynchronises when it returns', async () => {
    const [a, b] = await start(2);
    const before = await agree([a!, b!], 3);
    // One member down changes nothing visible.
    etcd.stopMember(2);
    const one = await call(`${a!.url}/add`, { method: 'POST', json: { n: 1, hostnames: [] } });
    expect(one.status).toBe(200);
    await agree([a!, b!], 4);
    etcd.startMember(2);
    await etcd.waitHealthy();
    const four = await agree([a!, b!], 4);
    for (let i = 0; i < 3; i++) etcd.stopMember(i);
    const at = Date.now();
    const refused = await call(`${b!.url}/add`, { method: 'POST', json: { n: 1, hostnames: [] } });
    expect(Date.now() - at).toBeLessThan(5_000);
    expect(refused.status).toBe(503);
    expect(refused.body.status).toBe('failure');
    expect(refused.body.message).toMatch(/membership store unavailable/);
    expect((await call(`${a!.url}/rep`)).body.message.N).toBe(4);
    expect(await routes(a!.url)).toEqual(four);
    expect(await routes(b!.url)).toEqual(four);
    expect(before).toHaveLength(KEYS.length);
    for (let i = 0; i < 3; i++) etcd.startMember(i);
    await etcd.waitHealthy();
    const back = await waitFor(
      'an /add to succeed after etcd returns',
      async () => {
        const reply = await call(`${a!.url}/add`, { method: 'POST', json: { n: 1, hostnames: ['after'] } });
        return reply.status === 200 ? reply : undefined;
      },
      20_000,
    );
    expect(back.body.message.replicas).toContain('after');
    await agree([a!, b!], 5);
  }, 90_000);
});
