import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { containersOf, describeDocker, docker, removeCluster, uniqueCluster } from './docker-helpers.js';
import { waitFor } from './helpers.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** `curl -s` as the seed's README runs it; the body as JSON. */
async function curl(...args: string[]): Promise<any> {
  const { stdout } = await run('curl', ['-s', '--max-time', '20', ...args], { timeout: 30_000 });
  return JSON.parse(stdout);
}

describeDocker(
  'make up / make down: the balancer in a container starts its replicas as containers',
  () => {
    const cluster = uniqueCluster('dkc');
    let port: number;
    let base: string;
    const make = async (target: string) =>
      run('make', ['-s', target, `CLUSTER=${cluster}`, `PORT=${port}`], { cwd: root, timeout: 120_000 });
    const balancerContainer = async () =>
      docker('ps', '-q', '--no-trunc', '--filter', `label=com.docker.compose.project=${cluster}`);

    beforeAll(async () => {
      port = await freePort();
      base = `http://127.0.0.1:${port}`;
      const startedAt = Date.now();
      await make('up');
      await waitFor(
        'the balancer to answer /rep',
        async () => {
          try {
            const rep = await curl(`${base}/rep`);
            return rep.message?.N === 3 ? rep : undefined;
          } catch {
            return undefined;
          }
        },
        60_000,
      );
      console.log(`make up → balancer and 3 replica containers serving in ${Date.now() - startedAt} ms`);
    }, 90_000);
    afterAll(async () => {
      await make('down').catch((error: unknown) => console.error(error));
      await removeCluster(cluster);
      const left = await docker('network', 'ls', '-q', '--filter', `name=^${cluster}-net$`).catch(() => '');
      if (left !== '') await docker('network', 'rm', left).catch(() => undefined);
    }, 60_000);

    it("brings up the balancer and 3 replica containers, and the seed's curl commands work", async () => {
      expect((await balancerContainer()).split('\n')).toHaveLength(1);
      const replicas = await containersOf(cluster);
      expect(replicas.map((c) => `${c.name} ${c.state}`)).toEqual(
        [1, 2, 3].map((n) => `${cluster}-server-${n} running`),
      );
      const networks = await docker(
        'inspect',
        '--format',
        '{{json .NetworkSettings.Networks}}',
        replicas[0]!.id,
      );
      expect(Object.keys(JSON.parse(networks) as object)).toEqual([`${cluster}-net`]);

      expect(await curl(`${base}/rep`)).toEqual({
        message: { N: 3, replicas: ['Server 1', 'Server 2', 'Server 3'] },
        status: 'successful',
      });
      expect((await curl(`${base}/home`)).message).toMatch(/^Hello from Server: [123]$/);
      const added = await curl('-X', 'POST', `${base}/add`);
      expect(added.message).toEqual({ N: 4, replicas: ['Server 1', 'Server 2', 'Server 3', 'Server 4'] });
      const named = [`${cluster}-S5`, `${cluster}-S6`];
      const withNames = await curl(
        '-X',
        'POST',
        `${base}/add`,
        '-d',
        JSON.stringify({ n: 2, hostnames: named }),
      );
      expect(withNames.message.N).toBe(6);
      expect((await containersOf(cluster)).map((c) => c.name)).toEqual(expect.arrayContaining(named));
      const removed = await curl(
        '-X',
        'DELETE',
        `${base}/rm`,
        '-d',
        JSON.stringify({ n: 1, hostnames: [named[0]] }),
      );
      expect(removed.message.replicas).not.toContain(named[0]);
      expect((await curl('-X', 'POST', `${base}/rm`)).message.N).toBe(4);
      expect((await curl('-X', 'POST', `${base}/rm`)).message.N).toBe(3);
      await waitFor('the removed containers to go', async () =>
        (await containersOf(cluster)).length === 3 ? true : undefined,
      );
      const bad = await curl('-X', 'POST', `${base}/add`, '-d', '{"hostnames":["no good"]}');
      expect(bad.status).toBe('failure');
    }, 60_000);

    it('heals a replica killed with docker kill', async () => {
      const before = await containersOf(cluster);
      const victim = before[0]!;
      const killedAt = Date.now();
      await docker('kill', victim.id);
      const after = await waitFor(
        `${victim.name} to be replaced`,
        async () => {
          const now = await containersOf(cluster);
          const fresh = now.find(
            (c) => c.name === victim.name && c.id !== victim.id && c.state === 'running',
          );
          return fresh && now.length === before.length ? now : undefined;
        },
        20_000,
      );
      await waitFor('the replacement to be back in the ring', async () =>
        (await curl(`${base}/rep`)).message.N === 3 ? true : undefined,
      );
      console.log(
        `docker kill → replacement container running in ${Date.now() - killedAt} ms (balancer in a container)`,
      );
      expect(after.map((c) => c.name)).toEqual(before.map((c) => c.name));
    }, 30_000);

    it('a restarted balancer adopts the running replica containers: no duplicates, no orphans', async () => {
      const before = await containersOf(cluster);
      const names = (await curl(`${base}/rep`)).message.replicas as string[];
      const restartedAt = Date.now();
      const compose = (await run('docker', ['compose', 'version']).then(
        () => ['docker', 'compose'],
        () => ['docker-compose'],
      )) as string[];
      await run(
        compose[0]!,
        [...compose.slice(1), '-p', cluster, '-f', 'compose.yaml', 'restart', 'balancer'],
        {
          cwd: root,
          env: { ...process.env, RINGLB_CLUSTER_NAME: cluster, RINGLB_PUBLISH_PORT: String(port) },
          timeout: 60_000,
        },
      );
      const rep = await waitFor(
        'the restarted balancer to answer',
        async () => {
          try {
            return await curl(`${base}/rep`);
          } catch {
            return undefined;
          }
        },
        30_000,
      );
      console.log(`docker compose restart balancer → serving again in ${Date.now() - restartedAt} ms`);
      expect(rep.message.replicas).toEqual(names);
      expect(await containersOf(cluster)).toEqual(before);
    }, 60_000);

    it('make down leaves no container of ours behind, replicas included', async () => {
      await make('down');
      expect(await containersOf(cluster)).toEqual([]);
      expect(await balancerContainer()).toBe('');
      expect(await docker('network', 'ls', '-q', '--filter', `name=^${cluster}-net$`)).toBe('');
    }, 60_000);
  },
  { compose: true },
);
