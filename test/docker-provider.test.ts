import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DockerProvider } from '../src/providers/docker/docker-provider.js';
import {
  containersOf,
  describeDocker,
  docker,
  removeCluster,
  TEST_IMAGE,
  uniqueCluster,
} from './docker-helpers.js';
import { balancer, call, waitFor } from './helpers.js';

type Started = Awaited<ReturnType<typeof balancer>>;

describeDocker('Docker provider: replicas as containers, balancer on the host', () => {
  const cluster = uniqueCluster('dk');
  const settings = { provider: 'docker', clusterName: cluster, dockerImage: TEST_IMAGE } as const;
  let lb: Started;

  beforeAll(async () => {
    const startedAt = Date.now();
    lb = await balancer(settings);
    console.log(`balancer with 3 replica containers up in ${Date.now() - startedAt} ms`);
  }, 60_000);
  afterAll(async () => {
    await lb?.close().catch((error: unknown) => console.error(error));
    await removeCluster(cluster);
  });

  const running = async () => (await containersOf(cluster)).filter((c) => c.state === 'running');
  const idOf = (name: string) => (lb.provider as DockerProvider).containerIdOf(name);
  const healthy = (name: string) => lb.cluster.describe().find((r) => r.name === name)?.state === 'healthy';

  /** Waits until `replica` runs in a container other than `oldId` and is back in the ring. */
  function replaced(replica: string, oldId: string, timeoutMs = 15_000): Promise<string> {
    return waitFor(
      `${replica} to be replaced`,
      () => {
        const id = idOf(replica);
        return id !== undefined && id !== oldId && healthy(replica) ? id : undefined;
      },
      timeoutMs,
    );
  }

  it('starts 3 labelled replica containers that serve the seed API', async () => {
    expect((await call(`${lb.url}/rep`)).body).toEqual({
      message: { N: 3, replicas: ['Server 1', 'Server 2', 'Server 3'] },
      status: 'successful',
    });
    expect((await running()).map((c) => c.name)).toEqual([1, 2, 3].map((n) => `${cluster}-server-${n}`));
    const reply = await call(`${lb.url}/home`, { headers: { 'x-request-id': '42' } });
    expect(reply.status).toBe(200);
    expect(reply.body.message).toMatch(/^Hello from Server: [123]$/);
    const rep = await call(`${lb.url}/rep`);
    expect(rep.headers.get('x-ringlb-provider')).toBe('docker; available');
    const labels = JSON.parse(
      await docker('inspect', '--format', '{{json .Config.Labels}}', `${cluster}-server-2`),
    ) as Record<string, string>;
    expect(labels).toMatchObject({
      'io.ringlb.cluster': cluster,
      'io.ringlb.replica.name': 'Server 2',
      'io.ringlb.replica.number': '2',
    });
  });

  it('creates containers named after the /add hostnames, and /rm removes them', async () => {
    const s5 = `${cluster}-S5`;
    const s6 = `${cluster}-S6`;
    let at = Date.now();
    const added = await call(`${lb.url}/add`, { method: 'POST', json: { n: 2, hostnames: [s5, s6] } });
    console.log(`/add of 2 containers answered in ${Date.now() - at} ms`);
    expect(added.body.message).toEqual({ N: 5, replicas: ['Server 1', 'Server 2', 'Server 3', s5, s6] });
    expect((await running()).map((c) => c.name)).toEqual(expect.arrayContaining([s5, s6]));
    at = Date.now();
    const removed = await call(`${lb.url}/rm`, { method: 'DELETE', json: { n: 1, hostnames: [s5] } });
    console.log(`/rm of 1 container (docker stop + remove) answered in ${Date.now() - at} ms`);
    expect(removed.body.message).toEqual({ N: 4, replicas: ['Server 1', 'Server 2', 'Server 3', s6] });
    const names = (await containersOf(cluster)).map((c) => c.name);
    expect(names).not.toContain(s5);
    expect(names).toContain(s6);
    await call(`${lb.url}/rm`, { method: 'POST', json: { hostnames: [s6] } });
    expect((await containersOf(cluster)).map((c) => c.name)).not.toContain(s6);
  });

  it('refuses names Docker cannot use with a 400 before any container is made', async () => {
    const before = await containersOf(cluster);
    for (const hostnames of [['a'], [`${cluster}-server-7`], ['bad name'], ['../x']]) {
      const reply = await call(`${lb.url}/add`, { method: 'POST', json: { hostnames } });
      expect(reply.status, JSON.stringify(hostnames)).toBe(400);
      expect(reply.body.status).toBe('failure');
    }
    expect(await containersOf(cluster)).toEqual(before);
    expect(lb.cluster.names()).toEqual(['Server 1', 'Server 2', 'Server 3']);
  });

  it('replaces a container killed behind its back (docker kill), and no request fails', async () => {
    const oldId = idOf('Server 2')!;
    const killedAt = Date.now();
    await docker('kill', `${cluster}-server-2`);
    const during = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call(`${lb.url}/home`, { headers: { 'x-request-id': String(i) } }),
      ),
    );
    expect(during.map((reply) => reply.status)).toEqual(new Array(20).fill(200));
    await replaced('Server 2', oldId);
    console.log(`docker kill → Server 2 replaced and healthy in ${Date.now() - killedAt} ms`);
    expect((await running()).map((c) => c.name)).toEqual([1, 2, 3].map((n) => `${cluster}-server-${n}`));
    expect((await containersOf(cluster)).map((c) => c.id)).not.toContain(oldId);
  });

  it('replaces a container removed behind its back (docker rm -f)', async () => {
    const oldId = idOf('Server 1')!;
    const removedAt = Date.now();
    await docker('rm', '-f', `${cluster}-server-1`);
    await replaced('Server 1', oldId);
    console.log(`docker rm -f → Server 1 replaced and healthy in ${Date.now() - removedAt} ms`);
    expect((await running()).length).toBe(3);
  });

  it('replaces a hung container (docker pause) found by heartbeat', async () => {
    const oldId = idOf('Server 2')!;
    const pausedAt = Date.now();
    await docker('pause', oldId);
    await replaced('Server 2', oldId);
    console.log(`docker pause → Server 2 out by heartbeat and replaced in ${Date.now() - pausedAt} ms`);
    expect((await containersOf(cluster)).map((c) => c.id)).not.toContain(oldId);
    expect((await running()).length).toBe(3);
  });

  it('replaces a container that keeps exiting on its own with growing back-off', async () => {
    // Each exit comes right after the replacement came up: a crash loop. The first exit of a
    // replica is replaced at once; each further quick one waits 500 ms, then 1000 ms, ...
    const waits: number[] = [];
    for (let round = 0; round < 3; round++) {
      const oldId = idOf('Server 3')!;
      const stoppedAt = Date.now();
      await docker('stop', '-t', '5', oldId);
      const newId = await replaced('Server 3', oldId);
      const createdAt = Date.parse(await docker('inspect', '--format', '{{.Created}}', newId));
      waits.push(createdAt - stoppedAt);
    }
    console.log(
      `Server 3 exiting on its own 3 times in a row: new container made ${waits.join(', ')} ms after each docker stop began`,
    );
    expect(waits[1]).toBeGreaterThanOrEqual(500);
    expect(waits[2]).toBeGreaterThanOrEqual(1_000);
    expect((await running()).length).toBe(3);
    expect((await containersOf(cluster)).length).toBe(3);
  }, 30_000);

  it('stops replica containers in well under a second', async () => {
    const s7 = `${cluster}-S7`;
    await call(`${lb.url}/add`, { method: 'POST', json: { hostnames: [s7] } });
    const at = Date.now();
    await docker('stop', s7);
    const tookMs = Date.now() - at;
    console.log(`docker stop of a replica container: ${tookMs} ms`);
    expect(tookMs).toBeLessThan(2_000);
    await waitFor('S7 to be replaced', () => (healthy(s7) && idOf(s7) ? true : undefined), 15_000);
    await call(`${lb.url}/rm`, { method: 'POST', json: { hostnames: [s7] } });
  }, 30_000);
});

describeDocker('Docker provider: a restarted balancer adopts its running replicas', () => {
  const cluster = uniqueCluster('dka');
  const settings = {
    provider: 'docker',
    clusterName: cluster,
    dockerImage: TEST_IMAGE,
    dockerOnExit: 'keep',
  } as const;
  const open: Started[] = [];
  afterAll(async () => {
    for (const lb of open) await lb.close().catch((error: unknown) => console.error(error));
    await removeCluster(cluster);
  });

  it('adopts the same containers, removes the ones it no longer wants, and starts none twice', async () => {
    const first = await balancer(settings);
    open.push(first);
    const named = `${cluster}-S9`;
    await call(`${first.url}/add`, { method: 'POST', json: { hostnames: [named] } });
    open.splice(open.indexOf(first), 1);
    await first.close();
    const kept = await containersOf(cluster);
    expect(kept.map((c) => c.state)).toEqual(['running', 'running', 'running', 'running']);

    // Leftovers a balancer does not want: a stopped replica, and a duplicate of a running one.
    await docker('stop', `${cluster}-server-3`);
    const duplicate = `${cluster}-dup`;
    await docker(
      'create',
      '--name',
      duplicate,
      '--label',
      `io.ringlb.cluster=${cluster}`,
      '--label',
      'io.ringlb.replica.name=Server 1',
      '--label',
      'io.ringlb.replica.number=1',
      TEST_IMAGE,
      'replica',
    );
    await docker('start', duplicate);

    const restartedAt = Date.now();
    const second = await balancer(settings);
    open.push(second);
    console.log(`restarted balancer adopted its replicas and was serving in ${Date.now() - restartedAt} ms`);
    // Three running replicas are the 3 it wants: the stopped one and the duplicate are removed.
    expect((await call(`${second.url}/rep`)).body.message).toEqual({
      N: 3,
      replicas: ['Server 1', 'Server 2', named],
    });
    const now = await containersOf(cluster);
    expect(now.map((c) => c.name)).toEqual([`${cluster}-server-1`, `${cluster}-server-2`, named].sort());
    expect(now.every((c) => c.state === 'running')).toBe(true);
    // Adopted, not restarted: the very same containers.
    const keptIds = new Map(kept.map((c) => [c.name, c.id]));
    for (const c of now) expect(c.id).toBe(keptIds.get(c.name));
    const home = await call(`${second.url}/home`, { headers: { 'x-request-id': '7' } });
    expect(home.body.message).toMatch(/^Hello from Server: [1234]$/);
  }, 60_000);
});
