import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { call, waitFor } from './helpers.js';
import {
  EtcdCluster,
  etcdAvailable,
  killMarked,
  routeOf,
  startInstance,
  type Instance,
} from './etcd-helpers.js';

const available = etcdAvailable();
const KEYS = Array.from({ length: 100 }, (_, i) => String(i * 7919 + 1));

describe.skipIf(!available)('static backends shared through etcd', () => {
  let etcd: EtcdCluster;
  const instances: Instance[] = [];
  const servers: Server[] = [];

  beforeAll(async () => {
    etcd = await EtcdCluster.start(3);
  }, 30_000);

  afterEach(async () => {
    for (const instance of instances.splice(0))
      if (instance.child.exitCode === null) instance.child.kill('SIGKILL');
    await killMarked();
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  afterAll(async () => {
    await killMarked();
    await etcd?.stop();
  });

  async function backend(name: string): Promise<string> {
    const server = createServer((req, res) => res.end(req.url === '/heartbeat' ? 'ok' : name));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('registers a server on one instance and every instance checks and routes to it alike', async () => {
    const [a, b, c] = await Promise.all([backend('a'), backend('b'), backend('c')]);
    const cluster = `static-${process.pid}`;
    for (let i = 0; i < 2; i++) {
      instances.push(
        await startInstance(etcd.endpoints, cluster, '--provider', 'static', '--backends', `${a},${b}`),
      );
    }
    const added = await call(`${instances[0]!.url}/add`, {
      method: 'POST',
      json: { backends: [c], hostnames: ['api-7'] },
    });
    expect(added.status).toBe(200);
    const routes = await waitFor('both instances to route alike over 3 backends', async () => {
      const all = await Promise.all(instances.map((i) => Promise.all(KEYS.map((k) => routeOf(i.url, k)))));
      const served = new Set(all[0]);
      if (served.size !== 3 || all[1]!.join() !== all[0]!.join()) return undefined;
      return all[0];
    });
    expect(new Set(routes)).toEqual(new Set(['200 a', '200 b', '200 c']));
    const rep = await call(`${instances[1]!.url}/rep`);
    expect(rep.body.message.replicas).toEqual(['Server 1', 'Server 2', 'api-7']);
    const removed = await call(`${instances[1]!.url}/rm`, { method: 'POST', json: { hostnames: ['api-7'] } });
    expect(removed.status).toBe(200);
    await waitFor('api-7 gone on the first instance', async () =>
      (await call(`${instances[0]!.url}/rep`)).body.message.N === 2 ? true : undefined,
    );
    for (const key of KEYS) expect(await routeOf(instances[0]!.url, key)).not.toBe('200 c');
  });

  it('keeps weights with the shared set: a weight set on one instance weights every instance alike', async () => {
    const [a, b, c] = await Promise.all([backend('a'), backend('b'), backend('c')]);
    const cluster = `weights-${process.pid}`;
    for (let i = 0; i < 2; i++) {
      instances.push(
        await startInstance(
          etcd.endpoints,
          cluster,
          '--provider',
          'static',
          '--ring',
          'ketama',
          '--backends',
          `${a},${b}`,
        ),
      );
    }
    const [first, second] = instances as [Instance, Instance];
    const shareOf = async (url: string, name: string) =>
      (
        (await call(`${url}/ring`)).body.message.replicas as { name: string; weight: number; share: number }[]
      ).find((r) => r.name === name);
    const put = await call(`${first.url}/replicas/Server%201`, { method: 'PUT', json: { weight: 3 } });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body.moved).toBeGreaterThan(0.1);
    await waitFor('the second instance to weight Server 1 by 3', async () =>
      (await shareOf(second.url, 'Server 1'))?.weight === 3 ? true : undefined,
    );
    const added = await call(`${second.url}/add`, {
      method: 'POST',
      json: { backends: [c], hostnames: ['api-7'], weights: { 'api-7': 2 } },
    });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    await waitFor('the first instance to weight api-7 by 2', async () =>
      (await shareOf(first.url, 'api-7'))?.weight === 2 ? true : undefined,
    );
    const [r1, r2] = await waitFor('both instances to route alike over 3 backends', async () => {
      const all = await Promise.all(
        [first, second].map((i) => Promise.all(KEYS.map((k) => routeOf(i.url, k)))),
      );
      return new Set(all[0]).size === 3 && all[0]!.join() === all[1]!.join() ? all : undefined;
    });
    expect(r1).toEqual(r2);
    // Weight 3 of 6 is about half of the keys (ketama at 160 points: within a few percent).
    const share = (await shareOf(second.url, 'Server 1'))!.share;
    expect(share).toBeGreaterThan(0.4);
    expect(share).toBeLessThan(0.6);
    expect((await shareOf(first.url, 'Server 1'))!.share).toBe(share);
    const unknown = await call(`${first.url}/replicas/nobody`, { method: 'PUT', json: { weight: 2 } });
    expect(unknown.status).toBe(404);
  });
});
