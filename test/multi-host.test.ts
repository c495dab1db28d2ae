import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ETCD, etcdAvailable } from './etcd-helpers.js';
import { waitFor } from './helpers.js';
import { MAIN } from './main-path.js';
import { NetnsLab, netnsProblem, type LabHost } from './netns-lab.js';

/**
 * Balancers on several hosts through etcd, with hosts made of network namespaces on one bridge:
 * three etcd members, three ringlb instances and three backend servers, each on a host of its own.
 * Every request goes to an address of a namespace this test made; everything is removed at the end.
 */
const problem = etcdAvailable() ? netnsProblem() : 'etcd is not installed';
if (problem) console.warn(`multi-host tests skipped: ${problem}`);

/** Inside its own namespace an instance owns every port: the README's 5000, etcd's 2379/2380. */
const LB_PORT = 5000;
const BACKEND_PORT = 8080;
const LEASE_S = 3;
const HEARTBEAT_MS = 500;
const KEYS = Array.from({ length: 300 }, (_, i) => String(i * 7919 + 13));

interface Started {
  readonly host: LabHost;
  readonly child: ChildProcess;
  readonly url: string;
  /** The last lines it wrote, for a failure's message. */
  readonly log: string[];
}

/** Percentile of samples (nearest rank). */
function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function get(url: string, init: RequestInit = {}, timeoutMs = 1_500) {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** Which backend a key reaches through an instance ("b0", ...), or the failure. */
async function routeOf(url: string, key: string): Promise<string> {
  try {
    const reply = await get(`${url}/home`, { headers: { 'x-request-id': key } });
    if (reply.status !== 200) return `status ${reply.status}`;
    return (JSON.parse(reply.text) as { message: string }).message.replace('Hello from Server: ', '');
  } catch (error) {
    return `error ${(error as Error).name}`;
  }
}

/** Every key's backend through an instance, 10 requests at a time. */
async function routes(url: string): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < KEYS.length; i += 10) {
    out.push(...(await Promise.all(KEYS.slice(i, i + 10).map((key) => routeOf(url, key)))));
  }
  return out;
}

/** The names in an instance's ring (healthy members only), from its dashboard snapshot. */
async function ringOf(url: string): Promise<string[]> {
  const snapshot = JSON.parse((await get(`${url}/dashboard/state`)).text) as {
    ring: { members: { name: string }[] };
  };
  return snapshot.ring.members.map((m) => m.name).sort();
}

async function members(url: string): Promise<string[]> {
  return (JSON.parse((await get(`${url}/rep`)).text) as { message: { replicas: string[] } }).message.replicas;
}

async function role(url: string): Promise<string | undefined> {
  try {
    return (await get(`${url}/rep`, {}, 800)).headers.get('x-ringlb-membership') ?? undefined;
  } catch {
    return undefined;
  }
}

describe.skipIf(problem !== undefined)('balancers on several hosts through etcd (network namespaces)', () => {
  let lab: NetnsLab;
  const dataDir = mkdtempSync(join(tmpdir(), 'ringlb-hosts-'));
  const lbs: Started[] = [];
  let etcdEndpoints = '';
  const measured: Record<string, string> = {};

  function lines(child: ChildProcess, log: string[], onLine?: (line: string) => void): void {
    let buffered = '';
    const take = (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      for (const line of parts) {
        log.push(line);
        if (log.length > 40) log.shift();
        onLine?.(line);
      }
    };
    child.stdout!.on('data', take);
    child.stderr!.on('data', take);
  }

  function startEtcd(): void {
    const names = ['e0', 'e1', 'e2'];
    const initial = names.map((n) => `${n}=http://${lab.host(n).address}:2380`).join(',');
    for (const name of names) {
      const { address } = lab.host(name);
      const child = lab.spawn(lab.host(name), ETCD, [
        ...['--name', name, '--data-dir', join(dataDir, name)],
        ...[
          '--listen-client-urls',
          `http://${address}:2379`,
          '--advertise-client-urls',
          `http://${address}:2379`,
        ],
        ...[
          '--listen-peer-urls',
          `http://${address}:2380`,
          '--initial-advertise-peer-urls',
          `http://${address}:2380`,
        ],
        ...[
          '--initial-cluster',
          initial,
          '--initial-cluster-state',
          'new',
          '--initial-cluster-token',
          lab.id,
        ],
        ...['--heartbeat-interval', '50', '--election-timeout', '500', '--log-level', 'error'],
      ]);
      lines(child, []);
    }
    etcdEndpoints = names.map((n) => `http://${lab.host(n).address}:2379`).join(',');
  }

  /** A replica server (the seed's) on a backend host, answering "Hello from Server: <name>". */
  function startBackend(name: string, port = BACKEND_PORT, id = name): Promise<void> {
    const host = lab.host(name);
    const child = lab.spawn(host, process.execPath, [MAIN, 'replica'], {
      SERVER_ID: id,
      PORT: String(port),
      HOST: host.address,
    });
    return new Promise((resolve, reject) => {
      lines(child, [], (line) => line.includes('replica listening') && resolve());
      child.once('exit', (code) => reject(new Error(`backend ${name} exited with ${code}`)));
    });
  }

  const backendUrl = (name: string, port = BACKEND_PORT) => `http://${lab.host(name).address}:${port}`;

  /** `ringlb start` on a host; resolves once it answers (not only listens): the start-up time. */
  /** An instance of the static cluster on a host; resolves once it serves: the start-up time. */
  async function startLb(name: string, ...args: string[]): Promise<Started & { servingMs: number }> {
    const started = await startInstance(name, LB_PORT, `hosts-${lab.id}`, '--provider', 'static', ...args);
    lbs.push(started);
    return started;
  }

  /** `ringlb start` on a host, in a cluster; resolves once it answers a request with a replica's reply. */
  async function startInstance(
    name: string,
    port: number,
    cluster: string,
    ...args: string[]
  ): Promise<Started & { servingMs: number }> {
    const host = lab.host(name);
    const begun = Date.now();
    const child = lab.spawn(host, process.execPath, [
      MAIN,
      'start',
      ...['--host', '0.0.0.0', '--port', String(port), '--workers', '1', '--advertise-host', host.address],
      ...['--membership', 'etcd', '--etcd-endpoints', etcdEndpoints, '--cluster-name', cluster],
      ...['--etcd-lease-ttl', String(LEASE_S), '--heartbeat-interval', String(HEARTBEAT_MS)],
      ...['--ring', 'ketama', '--log-level', 'info', ...args],
    ]);
    const log: string[] = [];
    lines(child, log);
    const url = `http://${host.address}:${port}`;
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) =>
        reject(new Error(`ringlb on ${name} exited with ${code}:\n${log.join('\n')}`)),
      ),
    );
    const serving = async () => {
      const route = await routeOf(url, '1');
      return route.startsWith('status') || route.startsWith('error') ? undefined : true;
    };
    await Promise.race([exited, waitFor(`ringlb on ${name} to serve`, serving, 20_000)]);
    return { host, child, url, log, servingMs: Date.now() - begun };
  }

  beforeAll(async () => {
    lab = new NetnsLab();
    for (const name of ['e0', 'e1', 'e2', 'l0', 'l1', 'l2', 'b0', 'b1', 'b2']) lab.addHost(name);
    startEtcd();
    await waitFor(
      'etcd to be healthy on every host',
      async () => {
        for (const endpoint of etcdEndpoints.split(',')) {
          const ok = await get(`${endpoint}/health`, {}, 1_000)
            .then((r) => (JSON.parse(r.text) as { health?: string }).health === 'true')
            .catch(() => false);
          if (!ok) return undefined;
        }
        return true;
      },
      20_000,
    );
    await Promise.all([startBackend('b0'), startBackend('b1')]);
  }, 60_000);

  afterAll(async () => {
    try {
      await lab?.remove();
      expect(lab?.leftovers() ?? []).toEqual([]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      console.log(`multi-host measurements: ${JSON.stringify(measured)}`);
    }
  });

  it('starts and serves with a backend that is down, and takes it in once it answers', async () => {
    const backends = ['b0', 'b1', 'b2'].map((b) => backendUrl(b)).join(',');
    // b2 is not running yet: each instance must serve from b0 and b1 regardless.
    const started = [];
    for (const name of ['l0', 'l1', 'l2']) started.push(await startLb(name, '--backends', backends));
    measured.servingAfterStartMs = started.map((s) => s.servingMs).join('/');
    for (const lb of lbs) expect(await ringOf(lb.url)).toEqual(['Server 1', 'Server 2']);
    const answering = Date.now();
    await startBackend('b2');
    const answered = Date.now();
    const takenIn = await Promise.all(
      lbs.map((lb) =>
        waitFor(`${lb.host.name} to take b2 in`, async () =>
          (await ringOf(lb.url)).includes('Server 3') ? Date.now() - answered : undefined,
        ),
      ),
    );
    measured.takenInAfterAnsweringMs = takenIn.join('/');
    measured.backendStartMs = String(answered - answering);
    // The peer of the start-up time, in this run: the same start with every server answering.
    const peer = await startInstance(
      'l2',
      LB_PORT + 2,
      `hosts-${lab.id}`,
      '--provider',
      'static',
      '--backends',
      backends,
    );
    measured.servingAfterStartAllUpMs = String(peer.servingMs);
    peer.child.kill('SIGKILL');
    // Two heartbeats in a row must succeed; within 2 heartbeat intervals plus one probe of slack.
    for (const ms of takenIn) expect(ms).toBeLessThan(3 * HEARTBEAT_MS + 500);
  }, 90_000);

  it('routes every key alike from every host', async () => {
    const all = await Promise.all(lbs.map((lb) => routes(lb.url)));
    expect(new Set(all[0])).toEqual(new Set(['b0', 'b1', 'b2']));
    for (const other of all.slice(1)) expect(other).toEqual(all[0]);
  });

  it('shows an /add on one host on every host', async () => {
    await startBackend('b2', BACKEND_PORT + 1, 'b2-second');
    const seen: number[] = [];
    for (let round = 0; round < 8; round++) {
      const via = lbs[round % lbs.length]!;
      const others = lbs.filter((lb) => lb !== via);
      for (const change of ['add', 'rm'] as const) {
        const sent = Date.now();
        const body =
          change === 'add'
            ? { backends: [backendUrl('b2', BACKEND_PORT + 1)], hostnames: ['api-7'] }
            : { hostnames: ['api-7'] };
        const reply = await get(
          `${via.url}/${change}`,
          { method: 'POST', body: JSON.stringify(body) },
          5_000,
        );
        expect(reply.status, reply.text).toBe(200);
        const times = await Promise.all(
          others.map((lb) =>
            waitFor(`${lb.host.name} to see ${change} ${round}`, async () =>
              (await members(lb.url)).includes('api-7') === (change === 'add')
                ? Date.now() - sent
                : undefined,
            ),
          ),
        );
        seen.push(...times);
      }
    }
    measured.addVisibleP50Ms = String(percentile(seen, 50));
    measured.addVisibleP99Ms = String(percentile(seen, 99));
    // The target (p99 within 1 s) is reported from here and from bench:cluster; under a loaded CI
    // machine the test only bounds it loosely.
    expect(percentile(seen, 99)).toBeLessThan(3_000);
    // And once it is in, every host routes to it alike.
    await get(`${lbs[0]!.url}/add`, {
      method: 'POST',
      body: JSON.stringify({ backends: [backendUrl('b2', BACKEND_PORT + 1)], hostnames: ['api-7'] }),
    });
    const all = await waitFor('every host to route to api-7 alike', async () => {
      const now = await Promise.all(lbs.map((lb) => routes(lb.url)));
      return now.every((r) => r.join() === now[0]!.join()) && now[0]!.includes('b2-second') ? now : undefined;
    });
    expect(new Set(all[0])).toEqual(new Set(['b0', 'b1', 'b2', 'b2-second']));
  }, 60_000);

  it('a link cut between one instance and one backend takes it out of that instance only', async () => {
    const [l0, l1, l2] = lbs as [Started, Started, Started];
    const before = await routes(l1.url);
    lab.cut(l0.host, lab.host('b1'));
    const cutAt = Date.now();
    try {
      await waitFor('l0 to take b1 out of its ring', async () =>
        (await ringOf(l0.url)).includes('Server 2') ? undefined : true,
      ).catch((error) => {
        throw new Error(`${(error as Error).message}; l0 said:\n${l0.log.join('\n')}`);
      });
      measured.linkCutOutOfRingMs = String(Date.now() - cutAt);
      const [on0, on1, on2] = await Promise.all([routes(l0.url), routes(l1.url), routes(l2.url)]);
      expect(on1).toEqual(before);
      expect(on2).toEqual(before);
      KEYS.forEach((_, i) => {
        // Only b1's keys move on l0 (ketama), and only there.
        if (before[i] === 'b1') expect(on0[i]).not.toBe('b1');
        else expect(on0[i]).toBe(before[i]);
      });
      expect(await ringOf(l1.url)).toContain('Server 2');
    } finally {
      lab.mend(l0.host, lab.host('b1'));
    }
    const mended = Date.now();
    await waitFor('l0 to take b1 back', async () =>
      (await ringOf(l0.url)).includes('Server 2') ? true : undefined,
    );
    measured.linkMendedBackInRingMs = String(Date.now() - mended);
    expect(await routes(l0.url)).toEqual(before);
  }, 60_000);

  it("the leader's host cut off: a new leader elsewhere within the lease, no request failed on the others", async () => {
    const roles = await Promise.all(lbs.map((lb) => role(lb.url)));
    expect(roles.filter((r) => r === 'etcd; leader')).toHaveLength(1);
    const leader = lbs[roles.indexOf('etcd; leader')]!;
    const survivors = lbs.filter((lb) => lb !== leader);
    let stop = false;
    let ok = 0;
    const failures: string[] = [];
    // Bounded load through the survivors: 8 clients, one request at a time each, until told to stop.
    const load = Promise.all(
      Array.from({ length: 8 }, async (_, c) => {
        for (let i = 0; !stop && i < 5_000; i++) {
          const lb = survivors[(c + i) % survivors.length]!;
          const route = await routeOf(lb.url, String(c * 100_000 + i));
          if (route.startsWith('b')) ok++;
          else failures.push(`${lb.host.name}: ${route}`);
        }
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    lab.unplug(leader.host);
    const cutAt = Date.now();
    try {
      const tookMs = await waitFor(
        'a new leader',
        async () => {
          const now = await Promise.all(survivors.map((lb) => role(lb.url)));
          return now.includes('etcd; leader') ? Date.now() - cutAt : undefined;
        },
        (LEASE_S + 5) * 1_000,
      );
      measured.leaderFailoverMs = String(tookMs);
      await new Promise((resolve) => setTimeout(resolve, 500));
      stop = true;
      await load;
      measured.failoverRequests = `${ok} ok, ${failures.length} failed`;
      expect(failures).toEqual([]);
      expect(ok).toBeGreaterThan(50);
      expect(tookMs).toBeLessThan((LEASE_S + 1) * 1_000);
    } finally {
      stop = true;
      await load;
      lab.plug(leader.host);
    }
    // Back on the bridge, the old leader follows: one leader in the cluster.
    await waitFor(
      'one leader after the old one is back',
      async () => {
        const now = await Promise.all(lbs.map((lb) => role(lb.url)));
        return now.filter((r) => r === 'etcd; leader').length === 1 && now.every(Boolean) ? true : undefined;
      },
      15_000,
    );
  }, 60_000);

  it('an instance cut off with an etcd minority keeps routing and answers changes with 503', async () => {
    const [l0, l1, l2] = lbs as [Started, Started, Started];
    const [e0, e1, e2] = ['e0', 'e1', 'e2'].map((n) => lab.host(n)) as [LabHost, LabHost, LabHost];
    const before = await routes(l2.url);
    // {e2, l2} on one side, the majority {e0, e1} with l0 and l1 on the other; backends reach all.
    const cuts: [LabHost, LabHost][] = [
      [e2, e0],
      [e2, e1],
      [l2.host, e0],
      [l2.host, e1],
    ];
    for (const [a, b] of cuts) lab.cut(a, b);
    try {
      expect(await routes(l2.url)).toEqual(before);
      const sent = Date.now();
      const refused = await get(
        `${l2.url}/add`,
        { method: 'POST', body: JSON.stringify({ backends: [backendUrl('b0', BACKEND_PORT + 1)] }) },
        10_000,
      );
      measured.minority503AfterMs = String(Date.now() - sent);
      expect(refused.status).toBe(503);
      expect(JSON.parse(refused.text)).toMatchObject({
        status: 'failure',
        message: expect.stringContaining('membership store unavailable'),
      });
      expect(await members(l2.url)).not.toContain('Server 5');
      // The majority goes on changing: an /rm on l0 is seen on l1, not (yet) on l2.
      const removed = await get(
        `${l0.url}/rm`,
        { method: 'POST', body: JSON.stringify({ hostnames: ['api-7'] }) },
        5_000,
      );
      expect(removed.status, removed.text).toBe(200);
      await waitFor('l1 to see the /rm', async () =>
        (await members(l1.url)).includes('api-7') ? undefined : true,
      );
      expect(await members(l2.url)).toContain('api-7');
      expect(await routes(l2.url)).toEqual(before);
    } finally {
      for (const [a, b] of cuts) lab.mend(a, b);
    }
    // Healed: l2 catches up through its watch, and changes go through there again.
    await waitFor(
      'l2 to catch up',
      async () => ((await members(l2.url)).includes('api-7') ? undefined : true),
      15_000,
    );
    const all = await Promise.all(lbs.map((lb) => routes(lb.url)));
    for (const other of all.slice(1)) expect(other).toEqual(all[0]);
  }, 60_000);

  it("process replicas live on the leader's host, reached at --advertise-host; a new leader replaces them on its own", async () => {
    const logs: Started[] = [];
    try {
      await processFailover(logs);
    } catch (error) {
      const said = logs.map((p) => `${p.host.name} said:\n${p.log.join('\n')}`).join('\n');
      throw new Error(`${(error as Error).message}\n${said}`);
    }
  }, 60_000);

  async function processFailover(logs: Started[]): Promise<void> {
    const cluster = `proc-${lab.id}`;
    const port = LB_PORT + 1;
    const [h0, h1] = [lab.host('l0'), lab.host('l1')];
    const p0 = await startInstance('l0', port, cluster, '--provider', 'process', '--replicas', '2');
    const p1 = await startInstance('l1', port, cluster, '--provider', 'process', '--replicas', '2');
    logs.push(p0, p1);
    expect(await role(p0.url)).toBe('etcd; leader');
    const replicasOn = (host: LabHost) => lab.pidsOn(host, 'RINGLB_REPLICA_DETACHED=1').length;
    expect([replicasOn(h0), replicasOn(h1)]).toEqual([2, 0]);
    // The follower on l1 reaches l0's replicas across the bridge, and routes like the leader.
    const before = await waitFor('both instances to route alike', async () => {
      const [r0, r1] = await Promise.all([routes(p0.url), routes(p1.url)]);
      return r0.join() === r1.join() && new Set(r0).size === 2 ? r0 : undefined;
    });
    expect(new Set(before)).toEqual(new Set(['1', '2']));
    lab.unplug(h0);
    const cutAt = Date.now();
    try {
      const leadsAndServes = async () =>
        (await role(p1.url)) === 'etcd; leader' &&
        replicasOn(h1) === 2 &&
        (await routes(p1.url)).join() === before.join()
          ? true
          : undefined;
      await waitFor('l1 to lead and serve every key from replicas of its own', leadsAndServes, 20_000);
      measured.processFailoverServingMs = String(Date.now() - cutAt);
    } finally {
      lab.plug(h0);
    }
    // Back on the bridge, l0 follows, and stops the processes it started: the leader replaced them.
    await waitFor(
      'l0 to stop its replaced replicas',
      async () => (replicasOn(h0) === 0 ? true : undefined),
      20_000,
    );
    expect(replicasOn(h1)).toBe(2);
    await waitFor('both to route alike again', async () => {
      const [r0, r1] = await Promise.all([routes(p0.url), routes(p1.url)]);
      return r0.join() === before.join() && r1.join() === before.join() ? true : undefined;
    });
    expect(await role(p0.url)).toBe('etcd; follower');
  }
});
