import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { runCli, startLogged } from './cli-process.js';
import {
  containersOf,
  describeDocker,
  docker,
  removeCluster,
  TEST_IMAGE,
  uniqueCluster,
} from './docker-helpers.js';
import { call, waitFor } from './helpers.js';

/**
 * Issue 19 with a real Docker engine, through the real CLI: a container name that a container not
 * of this cluster holds is the user's mistake (409, said so), not the balancer's failure (500).
 */
describeDocker('the first hour with Docker: a container name already taken', () => {
  const cluster = uniqueCluster('fh');
  const foreign = `${cluster}-taken`;
  let lb: Awaited<ReturnType<typeof startLogged>>;

  beforeAll(async () => {
    // Someone else's container, not labelled for any cluster; created, not even started.
    await docker('create', '--name', foreign, TEST_IMAGE, 'replica');
  }, 60_000);
  afterAll(async () => {
    await docker('rm', '-f', foreign).catch((error: unknown) => console.error(error));
    await removeCluster(cluster);
  }, 30_000);
  // A balancer per test: the CLI helpers end every child they started after each test.
  beforeEach(async () => {
    lb = await startLogged(
      '--provider',
      'docker',
      '--cluster-name',
      cluster,
      '--docker-image',
      TEST_IMAGE,
      '--replicas',
      '1',
    );
  }, 60_000);
  afterEach(async () => {
    await lb?.stop();
  }, 30_000);

  it('/add answers 409 naming the container and what to do, and changes nothing', async () => {
    const reply = await call(`${lb.url}/add`, { method: 'POST', json: { hostnames: [foreign] } });
    expect(reply.status).toBe(409);
    expect(reply.body).toEqual({
      message: `<Error> could not start replica: container name "${foreign}" is taken by a container that is not replica "${foreign}" of cluster "${cluster}": choose another hostname, or remove that container (docker rm -f ${foreign})`,
      status: 'failure',
    });
    expect((await call(`${lb.url}/rep`)).body.message).toEqual({ N: 1, replicas: ['Server 1'] });
    // The foreign container is left as it was.
    expect(await docker('inspect', '--format', '{{.State.Status}}', foreign)).toBe('created');
    expect((await containersOf(cluster)).map((c) => c.name)).toEqual([`${cluster}-server-1`]);
  });

  it('ringlb add says the same and exits 1 (the balancer refused)', async () => {
    const run = await runCli(['add', '--url', lb.url, foreign]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `ringlb add: <Error> could not start replica: container name "${foreign}" is taken by a container that is not replica "${foreign}" of cluster "${cluster}": choose another hostname, or remove that container (docker rm -f ${foreign})\n`,
    );
  });

  it('ringlb status shows each replica container: address, container id, state, last check', async () => {
    const [container] = await containersOf(cluster);
    // The first heartbeat comes within an interval of the start.
    const row = await waitFor('a checked replica', async () => {
      const run = await runCli(['status', '--url', lb.url, '--json']);
      expect(run.code).toBe(0);
      const [first] = JSON.parse(run.stdout).replicas;
      return first.lastCheck === null ? undefined : first;
    });
    expect(row).toMatchObject({ name: 'Server 1', state: 'healthy', pid: null, containerId: container!.id });
    expect(row.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(row.lastCheck.failure).toBeNull();
  });
});

describeDocker('the first hour with Docker: an image the daemon does not have', () => {
  it('is found by ringlb check and before start, and nothing starts', async () => {
    const image = 'ringlb-no-such-image:0';
    const says = `--docker-image: the Docker daemon has no image "${image}" (docker image ls): build it (make build BASE=local), or docker pull it\n`;
    const cluster = uniqueCluster('fhi');
    for (const command of ['check', 'start']) {
      const run = await runCli([
        command,
        '--port',
        '0',
        '--provider',
        'docker',
        '--docker-image',
        image,
        '--cluster-name',
        cluster,
      ]);
      expect(run.code, command).toBe(2);
      expect(run.stderr).toBe(
        `ringlb: ${command === 'check' ? 'check failed' : 'not started'}: 1 problem:\n  ${says}`,
      );
      expect(run.stdout).not.toMatch(/replica state changed/);
    }
    expect(await containersOf(cluster)).toEqual([]);
  });
});
