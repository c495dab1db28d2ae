import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DockerProvider } from '../src/providers/docker/docker-provider.js';
import {
  containersOf,
  describeDocker,
  docker,
  DOCKER_SOCKET,
  removeCluster,
  TEST_IMAGE,
  uniqueCluster,
} from './docker-helpers.js';
import { balancer, call, waitFor } from './helpers.js';

/**
 * The balancer talks to the real daemon through a relay socket that the test can take away and bring
 * back: to the balancer that is exactly a daemon that went away and returned, while the containers
 * (and the daemon, for the test's own `docker` commands) stay up.
 */
class SocketRelay {
  readonly path: string;
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();

  constructor(path: string) {
    this.path = path;
  }

  async up(): Promise<void> {
    rmSync(this.path, { force: true });
    const server = createServer((client) => {
      const daemon = createConnection(DOCKER_SOCKET);
      for (const socket of [client, daemon]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          daemon.destroy();
        });
      }
      client.pipe(daemon).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.path, resolve));
    this.#server = server;
  }

  async down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describeDocker('Docker provider: the daemon goes away and comes back', () => {
  const cluster = uniqueCluster('dko');
  const dir = mkdtempSync(join(tmpdir(), 'ringlb-docker-'));
  const relay = new SocketRelay(join(dir, 'docker.sock'));
  let lb: Awaited<ReturnType<typeof balancer>>;

  beforeAll(async () => {
    await relay.up();
    lb = await balancer({
      provider: 'docker',
      clusterName: cluster,
      dockerImage: TEST_IMAGE,
      dockerSocket: relay.path,
      replicas: 3,
    });
  }, 60_000);
  afterAll(async () => {
    await lb?.close().catch((error: unknown) => console.error(error));
    await relay.down();
    await removeCluster(cluster);
    rmSync(dir, { recursive: true, force: true });
  });

  const providerHeader = async () => (await call(`${lb.url}/rep`)).headers.get('x-ringlb-provider') ?? '';

  it('keeps serving, reports the provider unavailable, then heals and tidies up when it is back', async () => {
    expect(await providerHeader()).toBe('docker; available');
    const downAt = Date.now();
    await relay.down();
    await waitFor('the provider to be reported unavailable', async () =>
      (await providerHeader()).startsWith('docker; unavailable') ? true : undefined,
    );
    console.log(`Docker daemon gone → reported unavailable in ${Date.now() - downAt} ms`);

    // Requests are still served by the running replicas.
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        call(`${lb.url}/home`, { headers: { 'x-request-id': String(i) } }),
      ),
    );
    expect(replies.map((r) => r.status)).toEqual(new Array(10).fill(200));

    // Adding fails with a clear error and changes nothing.
    const add = await call(`${lb.url}/add`, { method: 'POST' });
    expect(add.status).toBe(500);
    expect(add.body.message).toMatch(/Docker is unavailable/);
    expect(lb.cluster.names()).toEqual(['Server 1', 'Server 2', 'Server 3']);

    // Removing works for membership; the container goes once Docker is back.
    const rm = await call(`${lb.url}/rm`, { method: 'POST', json: { hostnames: ['Server 3'] } });
    expect(rm.body.message).toEqual({ N: 2, replicas: ['Server 1', 'Server 2'] });

    // A replica dies while nobody can start another: out of the ring by heartbeat, the rest serve.
    const oldId = (lb.provider as DockerProvider).containerIdOf('Server 1');
    await docker('kill', `${cluster}-server-1`);
    await waitFor('Server 1 to leave the ring', () =>
      lb.cluster.table.ring.members.some((m) => m.name === 'Server 1') ? undefined : true,
    );
    expect((await call(`${lb.url}/home`)).body.message).toBe('Hello from Server: 2');
    // Long enough for the failed replacements to back off to several seconds.
    await new Promise((resolve) => setTimeout(resolve, 8_000));

    const upAt = Date.now();
    await relay.up();
    await waitFor('the provider to be available again', async () =>
      (await providerHeader()) === 'docker; available' ? true : undefined,
    );
    await waitFor(
      'Server 1 to be replaced',
      () => {
        const id = (lb.provider as DockerProvider).containerIdOf('Server 1');
        const healthy = lb.cluster.describe().find((r) => r.name === 'Server 1')?.state === 'healthy';
        return id && id !== oldId && healthy ? true : undefined;
      },
      15_000,
    );
    const backAfterMs = Date.now() - upAt;
    console.log(`Docker daemon back → Server 1 replaced in ${backAfterMs} ms`);
    // Replacement resumes when Docker is back, not when the back-off (by now 8 s) runs out.
    expect(backAfterMs).toBeLessThan(5_000);
    // No orphans: the removed replica's container and the killed one are gone.
    await waitFor('leftover containers to be removed', async () => {
      const names = (await containersOf(cluster)).map((c) => c.name);
      return names.length === 2 ? names : undefined;
    });
    expect((await containersOf(cluster)).map((c) => `${c.name} ${c.state}`)).toEqual([
      `${cluster}-server-1 running`,
      `${cluster}-server-2 running`,
    ]);
  }, 60_000);
});
