import { afterAll, beforeAll, expect, it } from 'vitest';
import { Pool } from 'undici';
import { describeDocker, docker, uniqueCluster } from './docker-helpers.js';
import { call, waitFor } from './helpers.js';
import { joinSwarm, SwarmFixture, type SwarmSession } from './swarm-helpers.js';

/**
 * `--provider swarm` against a real single-node swarm: the replicas are the tasks of one service on
 * an attachable overlay network (endpoint mode dnsrr), the balancers are containers on it that reach
 * the tasks by IP. Swarm replaces dead tasks; the balancers scale the service and agree through it.
 */
interface ReplicaRow {
  name: string;
  state: string;
}

async function states(url: string): Promise<Map<string, string>> {
  const { body } = await call(`${url}/dashboard/state`);
  return new Map((body.replicas as ReplicaRow[]).map((r) => [r.name, r.state]));
}

/** Who answers each of these request ids. */
async function owners(url: string, ids: readonly number[]): Promise<string[]> {
  return Promise.all(
    ids.map(async (id) => {
      const { body } = await call(`${url}/home`, { headers: { 'x-request-id': String(id) } });
      return String(body.message);
    }),
  );
}

const IDS = Array.from({ length: 60 }, (_, i) => 1000 + i * 7919);

describeDocker('swarm provider', () => {
  let session: SwarmSession;
  const fixture = new SwarmFixture(uniqueCluster('rlbswarm'));
  let lb: { name: string; url: string };

  beforeAll(async () => {
    session = await joinSwarm();
    await fixture.deploy(3);
    lb = await fixture.balancer('--ring', 'ketama');
  }, 120_000);

  afterAll(async () => {
    await fixture.remove();
    await session?.release();
  }, 90_000);

  it('routes to the service tasks, each named by its slot', async () => {
    const rep = await call(`${lb.url}/rep`);
    expect(rep.body.message).toEqual({ N: 3, replicas: ['Server 1', 'Server 2', 'Server 3'] });
    expect(rep.headers.get('x-ringlb-provider')).toBe('swarm; available');
    const answers = new Set(await owners(lb.url, IDS));
    expect(answers).toEqual(new Set([1, 2, 3].map((k) => `Hello from Server: ${k}`)));
  });

  it('takes a killed task back in its slot once Swarm replaces it, failing no request meanwhile', async () => {
    const victim = await fixture.taskContainer(2);
    expect(victim).toBeDefined();
    const pool = new Pool(lb.url, { connections: 4 });
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
            headers: { 'x-request-id': String(Math.floor(Math.random() * 1e6)) },
          });
          const text = await body.text();
          if (statusCode !== 200) failures.push(`${statusCode} ${text}`);
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
    });
    try {
      await waitFor('load', () => (sent > 50 ? true : undefined));
      const killedAt = Date.now();
      await docker('kill', victim!.id);
      await waitFor('Server 2 out of the ring', async () =>
        (await states(lb.url)).get('Server 2') !== 'healthy' ? true : undefined,
      );
      const replacement = await waitFor(
        'a new task in slot 2',
        async () => {
          const found = await fixture.taskContainer(2);
          return found && found.id !== victim!.id ? found : undefined;
        },
        30_000,
      );
      const backAt = await waitFor(
        'Server 2 back in the ring',
        async () => ((await states(lb.url)).get('Server 2') === 'healthy' ? Date.now() : undefined),
        30_000,
      );
      console.log(
        `swarm: task of slot 2 killed; Swarm started its replacement ${replacement.startedAt - killedAt} ms later; ` +
          `back in the ring ${backAt - replacement.startedAt} ms after that`,
      );
      await waitFor('Server 2 serving', async () =>
        (await owners(lb.url, IDS)).includes('Hello from Server: 2') ? true : undefined,
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
    const added = await call(`${lb.url}/add`, { method: 'POST', json: { n: 1 } });
    expect(added.status).toBe(200);
    expect(added.body.message.replicas).toEqual(['Server 1', 'Server 2', 'Server 3', 'Server 4']);
    expect(await fixture.replicas()).toBe(4);
    await waitFor('Server 4 serving', async () =>
      (await owners(lb.url, IDS)).includes('Hello from Server: 4') ? true : undefined,
    );
    console.log(`swarm: /add answered and Server 4 served ${Date.now() - t0} ms after the call`);

    const named = await call(`${lb.url}/rm`, { method: 'POST', json: { hostnames: ['Server 2'] } });
    expect(named.status).toBe(400);
    expect(named.body.message).toMatch(/Swarm chooses which task stops/);
    const named2 = await call(`${lb.url}/add`, { method: 'POST', json: { n: 1, hostnames: ['S9'] } });
    expect(named2.status).toBe(400);
    expect(named2.body.message).toMatch(/named by their task slot/);
    expect(await fixture.replicas()).toBe(4);

    const removed = await call(`${lb.url}/rm`, { method: 'POST', json: { n: 1 } });
    expect(removed.status).toBe(200);
    expect(removed.body.message.N).toBe(3);
    expect(await fixture.replicas()).toBe(3);
    const left = removed.body.message.replicas as string[];
    const slots = left.map((name) => Number(name.replace('Server ', '')));
    const answers = new Set(await owners(lb.url, IDS));
    expect(answers).toEqual(new Set(slots.map((k) => `Hello from Server: ${k}`)));
  }, 60_000);

  it('lets two balancers scale at once and agree, through Swarm alone', async () => {
    const other = await fixture.balancer('--ring', 'ketama');
    const before = (await call(`${lb.url}/rep`)).body.message.N as number;
    const [a, b] = await Promise.all([
      call(`${lb.url}/add`, { method: 'POST', json: { n: 1 } }),
      call(`${other.url}/add`, { method: 'POST', json: { n: 1 } }),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(await fixture.replicas()).toBe(before + 2);
    const both = async () => {
      const [x, y] = await Promise.all([call(`${lb.url}/rep`), call(`${other.url}/rep`)]);
      return x.body.message.N === before + 2 && y.body.message.N === before + 2 ? [x, y] : undefined;
    };
    const [x, y] = await waitFor('both balancers see both adds', both, 10_000);
    expect(x!.body.message.replicas).toEqual(y!.body.message.replicas);
    await waitFor('every replica healthy on both', async () => {
      const [s, t] = await Promise.all([states(lb.url), states(other.url)]);
      const all = [...s.values(), ...t.values()];
      return all.length === 2 * (before + 2) && all.every((state) => state === 'healthy') ? true : undefined;
    });
    expect(await owners(other.url, IDS)).toEqual(await owners(lb.url, IDS));
  }, 60_000);
});
