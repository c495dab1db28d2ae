import type { ChildProcess } from 'node:child_process';
import { Pool } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeDocker, docker, uniqueCluster } from './docker-helpers.js';
import { call, waitFor } from './helpers.js';
import { lockSwarm, swarmState, SwarmStack } from './swarm-helpers.js';

/**
 * `--provider swarm` against a real single-node swarm, deployed as the README says: `make swarm-up`
 * (stack.yaml: the balancer published in host mode, 3 replica tasks on an attachable overlay network,
 * endpoint mode dnsrr) and `make swarm-down`. The balancers reach the tasks by IP; Swarm replaces
 * dead tasks; the balancers scale the service and agree through it alone.
 */
interface ReplicaRow {
  name: string;
  state: string;
}

async function states(url: string): Promise<Map<string, string>> {
  const { body } = await call(`${url}/dashboard/state`);
  return new Map((body.replicas as ReplicaRow[]).map((r) => [r.name, r.state]));
}

/** The seed's ring has 512 slots: these ids reach every replica that owns any. */
const IDS = Array.from({ length: 512 }, (_, i) => i);

/** Who answers each request id, in order. */
async function owners(url: string, ids: readonly number[] = IDS): Promise<string[]> {
  const pool = new Pool(url, { connections: 8 });
  try {
    return await Promise.all(
      ids.map(async (id) => {
        const { body } = await pool.request({
          path: '/home',
          method: 'GET',
          headers: { 'x-request-id': String(id) },
        });
        return String(((await body.json()) as { message: unknown }).message);
      }),
    );
  } finally {
    await pool.close();
  }
}

describeDocker('swarm provider, deployed with make swarm-up', () => {
  let lock: ChildProcess | undefined;
  let swarmBefore = '';
  const stack = new SwarmStack(uniqueCluster('rlbs').replace(/-/g, ''));
  let url = '';

  beforeAll(async () => {
    lock = await lockSwarm();
    swarmBefore = await swarmState();
    const startedAt = Date.now();
    await stack.up();
    url = stack.url;
    console.log(
      `swarm: make swarm-up → serving in ${Date.now() - startedAt} ms (swarm ${swarmBefore} before)`,
    );
  }, 180_000);

  afterAll(async () => {
    await stack.remove();
    // A swarm this run made (swarm-up made it) must not outlive the run, whatever failed.
    if (swarmBefore !== 'active' && (await swarmState()) === 'active')
      await docker('swarm', 'leave', '--force').catch((error: unknown) => console.error(error));
    lock?.kill('SIGKILL');
  }, 120_000);

  it('routes to the service tasks, each named by its slot', async () => {
    const rep = await call(`${url}/rep`);
    expect(rep.body.message).toEqual({ N: 3, replicas: ['Server 1', 'Server 2', 'Server 3'] });
    expect(rep.headers.get('x-ringlb-provider')).toBe('swarm; available');
    const answers = new Set(await owners(url));
    expect(answers).toEqual(new Set([1, 2, 3].map((k) => `Hello from Server: ${k}`)));
    // An operator finds each task's container in the verbose listing (and in ringlb status).
    const verbose = await call(`${url}/rep?verbose=1`);
    const rows = verbose.body.message.details as { name: string; containerId: string | null }[];
    for (const slot of [1, 2, 3]) {
      const container = await stack.taskContainer(slot);
      expect(rows.find((r) => r.name === `Server ${slot}`)?.containerId).toBe(container!.id);
    }
  });

  it('takes a killed task back in its slot once Swarm replaces it, failing no request meanwhile', async () => {
    const victim = await stack.taskContainer(2);
    expect(victim).toBeDefined();
    const pool = new Pool(url, { connections: 4 });
    let stop = false;
    let sent = 0;
    const failures: string[] = [];
    // Bounded: 4 loops, until told to stop or 60 s at most.
    const until = Date.now() + 60_000;
    const loops = Array.from({ length: 4 }, async () => {
      while (!stop && Date.now() < until) {
        sent++;
        try {
          const { statusCode, body } = await pool.request({
            path: '/home',
            method: 'GET',
            headers: { 'x-request-id': String(sent % 512) },
          });
          const text = await body.text();
          if (statusCode !== 200) failures.push(`${statusCode} ${text}`);
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
    });
    try {
      // Generous waits: CI machines are shared, and under load every step here takes longer.
      await waitFor('load', () => (sent > 50 ? true : undefined), 30_000);
      const killedAt = Date.now();
      await docker('kill', victim!.id);
      await waitFor(
        'Server 2 out of the ring',
        async () => ((await states(url)).get('Server 2') !== 'healthy' ? true : undefined),
        30_000,
      );
      const replacement = await waitFor(
        'a new task in slot 2',
        async () => {
          const found = await stack.taskContainer(2);
          return found && found.id !== victim!.id ? found : undefined;
        },
        30_000,
      );
      const backAt = await waitFor(
        'Server 2 back in the ring',
        async () => ((await states(url)).get('Server 2') === 'healthy' ? Date.now() : undefined),
        30_000,
      );
      console.log(
        `swarm: task of slot 2 killed; Swarm started its replacement ${replacement.startedAt - killedAt} ms later; ` +
          `back in the ring ${backAt - replacement.startedAt} ms after that`,
      );
      await waitFor(
        'Server 2 serving',
        async () => ((await owners(url)).includes('Hello from Server: 2') ? true : undefined),
        30_000,
      );
    } finally {
      stop = true;
      await Promise.all(loops);
      await pool.close();
    }
    console.log(`swarm: ${sent} requests under load during the kill, ${failures.length} failed`);
    expect(failures).toEqual([]);
  }, 90_000);

  it('scales the service with /add and /rm, and refuses to remove a chosen slot', async () => {
    const t0 = Date.now();
    const added = await call(`${url}/add`, { method: 'POST', json: { n: 1 } });
    expect(added.status).toBe(200);
    expect(added.body.message.replicas).toEqual(['Server 1', 'Server 2', 'Server 3', 'Server 4']);
    expect(await stack.replicas()).toBe(4);
    await waitFor(
      'Server 4 serving',
      async () => ((await owners(url)).includes('Hello from Server: 4') ? true : undefined),
      30_000,
    );
    console.log(`swarm: /add answered and Server 4 served ${Date.now() - t0} ms after the call`);

    const named = await call(`${url}/rm`, { method: 'POST', json: { hostnames: ['Server 2'] } });
    expect(named.status).toBe(400);
    expect(named.body.message).toMatch(/Swarm chooses which task stops/);
    const namedAdd = await call(`${url}/add`, { method: 'POST', json: { n: 1, hostnames: ['S9'] } });
    expect(namedAdd.status).toBe(400);
    expect(namedAdd.body.message).toMatch(/named by their task slot/);
    const weighted = await call(`${url}/replicas/Server%201`, { method: 'PUT', json: { weight: 2 } });
    expect(weighted.status).toBe(409);
    expect(weighted.body.message).toMatch(/replica weights cannot be kept by the swarm store/);
    expect(await stack.replicas()).toBe(4);

    const removed = await call(`${url}/rm`, { method: 'POST', json: { n: 1 } });
    expect(removed.status).toBe(200);
    expect(removed.body.message.N).toBe(3);
    expect(await stack.replicas()).toBe(3);
    const left = removed.body.message.replicas as string[];
    const answers = new Set(await owners(url));
    expect(answers).toEqual(new Set(left.map((name) => `Hello from ${name.replace(' ', ': ')}`)));
  }, 60_000);

  it('lets two balancers scale at once and agree, through Swarm alone', async () => {
    const other = await stack.balancer('--workers', '1');
    const before = (await call(`${url}/rep`)).body.message.N as number;
    const [a, b] = await Promise.all([
      call(`${url}/add`, { method: 'POST', json: { n: 1 } }),
      call(`${other.url}/add`, { method: 'POST', json: { n: 1 } }),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(await stack.replicas()).toBe(before + 2);
    const both = async () => {
      const [x, y] = await Promise.all([call(`${url}/rep`), call(`${other.url}/rep`)]);
      return x.body.message.N === before + 2 && y.body.message.N === before + 2 ? [x, y] : undefined;
    };
    const [x, y] = await waitFor('both balancers see both adds', both, 10_000);
    expect(x!.body.message.replicas).toEqual(y!.body.message.replicas);
    await waitFor(
      'every replica healthy on both',
      async () => {
        const [s, t] = await Promise.all([states(url), states(other.url)]);
        const all = [...s.values(), ...t.values()];
        return all.length === 2 * (before + 2) && all.every((state) => state === 'healthy')
          ? true
          : undefined;
      },
      30_000,
    );
    expect(await owners(other.url)).toEqual(await owners(url));

    // Scaled from outside (docker service scale): both follow the service.
    await docker('service', 'scale', '--detach', `${stack.service}=3`);
    const [p, q] = await waitFor(
      'both balancers at 3 replicas again',
      async () => {
        const [r, t] = await Promise.all([call(`${url}/rep`), call(`${other.url}/rep`)]);
        return r.body.message.N === 3 && t.body.message.N === 3 ? [r, t] : undefined;
      },
      15_000,
    );
    expect(p!.body.message.replicas).toEqual(q!.body.message.replicas);
  }, 90_000);

  it('starts beside a task that runs but does not answer, serves from the others, and takes it in once it answers', async () => {
    const paused = await stack.taskContainer(1);
    expect(paused).toBeDefined();
    // Paused: Swarm still counts the task as running, and its IP takes connections it never answers.
    await docker('pause', paused!.id);
    try {
      const startedAt = Date.now();
      const late = await stack.balancer('--workers', '1');
      const startMs = Date.now() - startedAt;
      const now = await states(late.url);
      expect(now.get('Server 1')).toBe('unhealthy');
      expect([...now.values()].filter((state) => state === 'healthy').length).toBe(now.size - 1);
      const answers = new Set(await owners(late.url));
      expect(answers.has('Hello from Server: 1')).toBe(false);
      console.log(`swarm: a balancer beside a paused task listened ${startMs} ms after docker run`);
      await docker('unpause', paused!.id);
      await waitFor(
        'Server 1 back in the ring',
        async () => ((await states(late.url)).get('Server 1') === 'healthy' ? true : undefined),
        30_000,
      );
    } finally {
      await docker('unpause', paused!.id).catch(() => undefined);
    }
  }, 90_000);

  it('works in etcd mode: the service is still the desired set, etcd keeps the ring settings and a leader', async () => {
    const endpoints = await stack.etcd();
    const shared = [
      '--membership',
      'etcd',
      '--etcd-endpoints',
      endpoints,
      '--cluster-name',
      `${stack.stack}-etcd`,
    ];
    const a = await stack.balancer('--workers', '1', '--ring', 'ketama', ...shared);
    const b = await stack.balancer('--workers', '1', '--ring', 'ketama', ...shared);
    const start = (await call(`${a.url}/rep`)).body.message.N as number;
    const roles = await waitFor('one leader', async () => {
      const [x, y] = await Promise.all([call(`${a.url}/rep`), call(`${b.url}/rep`)]);
      const both = [x, y].map((r) => r.headers.get('x-ringlb-membership'));
      return both.includes('etcd; leader') ? both : undefined;
    });
    expect(roles.sort()).toEqual(['etcd; follower', 'etcd; leader']);
    // An /add on one scales the service; the other follows it and routes alike.
    const added = await call(`${b.url}/add`, { method: 'POST', json: { n: 1 } });
    expect(added.status).toBe(200);
    expect(await stack.replicas()).toBe(start + 1);
    const healthyOn = async (url: string) =>
      [...(await states(url)).values()].filter((state) => state === 'healthy').length;
    await waitFor(
      'both to route to every task',
      async () =>
        (await healthyOn(a.url)) === start + 1 && (await healthyOn(b.url)) === start + 1 ? true : undefined,
      30_000,
    );
    expect(await owners(a.url)).toEqual(await owners(b.url));
    // The ring settings are the cluster's, kept in etcd: no instance changes them alone, and one
    // started with others is refused.
    const ring = await call(`${a.url}/ring`, { method: 'PUT', json: { algorithm: 'maglev' } });
    expect(ring.status).toBe(409);
    await expect(stack.balancer('--workers', '1', '--ring', 'maglev', ...shared)).rejects.toThrow(
      /the cluster's ring settings are/,
    );
    const removed = await call(`${a.url}/rm`, { method: 'POST', json: { n: 1 } });
    expect(removed.status).toBe(200);
    expect(await stack.replicas()).toBe(start);
    await waitFor(
      'b at the count again',
      async () => ((await call(`${b.url}/rep`)).body.message.N === start ? true : undefined),
      15_000,
    );
  }, 120_000);

  it('make swarm-down takes away everything swarm-up made', async () => {
    await stack.removeBalancers();
    expect(await stack.leftovers()).not.toEqual([]);
    await stack.make('swarm-down');
    expect(await stack.leftovers()).toEqual([]);
    expect(await swarmState()).toBe(swarmBefore === 'active' ? 'active' : 'inactive');
  }, 90_000);
});
