import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { docker, TEST_IMAGE } from './docker-helpers.js';
import { ETCD } from './etcd-helpers.js';

/**
 * A real single-node swarm for the tests, and the stack of stack.yaml deployed on it by `make
 * swarm-up`. Swarm is one per daemon, so a test run takes a lock that other runs on this machine
 * wait for. Everything a run makes is named after its stack and removed at the end, even when a test
 * failed; a swarm the run created is left again.
 */
const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const LOCK = '/tmp/ringlb-swarm-test.lock';

/** Holds `LOCK` with flock(1) until the returned process is killed (`--no-fork`: it holds the lock). */
export async function lockSwarm(): Promise<ChildProcess> {
  const holder = spawn('flock', ['--no-fork', '-x', LOCK, 'sh', '-c', 'echo locked; exec sleep 3600'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [chunk] = (await Promise.race([
    once(holder.stdout!, 'data'),
    once(holder, 'exit').then(() => {
      throw new Error(`could not take ${LOCK}`);
    }),
  ])) as [Buffer];
  if (!chunk.toString().includes('locked')) throw new Error(`could not take ${LOCK}`);
  return holder;
}

export async function swarmState(): Promise<string> {
  return docker('info', '--format', '{{.Swarm.LocalNodeState}}');
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function report(what: string): (error: unknown) => void {
  return (error) => console.error(`swarm test cleanup: ${what} failed: ${(error as Error).message}`);
}

/**
 * The stack of one test file, `<stack>_balancer` published on a free port in host mode and
 * `<stack>_replica` on `<stack>_replicas`, plus balancer containers of its own on that network.
 */
export class SwarmStack {
  readonly stack: string;
  readonly network: string;
  readonly service: string;
  port = 0;
  readonly #balancers: string[] = [];

  constructor(stack: string) {
    this.stack = stack;
    this.network = `${stack}_replicas`;
    this.service = `${stack}_replica`;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async make(target: 'swarm-up' | 'swarm-down'): Promise<string> {
    const { stdout } = await run(
      'make',
      ['-s', target, `STACK=${this.stack}`, `PORT=${this.port}`, `IMAGE=${TEST_IMAGE}`],
      { cwd: root, timeout: 120_000 },
    );
    return stdout;
  }

  async up(): Promise<string> {
    this.port = await freePort();
    return this.make('swarm-up');
  }

  /**
   * Another balancer, a plain container on the stack's network (its port published on a free
   * loopback port), following the same service. Resolves with its URL once it listens.
   */
  async balancer(...args: string[]): Promise<{ name: string; url: string }> {
    const name = `${this.stack}-lb${this.#balancers.length + 1}`;
    this.#balancers.push(name);
    await docker(
      'run',
      '--detach',
      '--name',
      name,
      '--user',
      'root',
      '--network',
      this.network,
      '--volume',
      '/var/run/docker.sock:/var/run/docker.sock',
      '--publish',
      '127.0.0.1::5000',
      TEST_IMAGE,
      'start',
      '--provider',
      'swarm',
      '--swarm-service',
      this.service,
      ...args,
    );
    const port = (await docker('port', name, '5000')).split('\n')[0]!.split(':').pop()!;
    const deadline = Date.now() + 60_000;
    for (;;) {
      // The state before the logs, so that the logs of one that exited are all it said; both
      // streams: a balancer that refuses to start says why on stderr.
      const state = await docker('inspect', '--format', '{{.State.Status}}', name);
      const logs = await run('docker', ['logs', name], { timeout: 60_000 }).then(
        ({ stdout, stderr }) => stdout + stderr,
        () => '',
      );
      if (logs.includes('ringlb listening')) return { name, url: `http://127.0.0.1:${port}` };
      if (state !== 'running' || Date.now() > deadline) {
        throw new Error(`balancer ${name} did not start (${state}):\n${logs}`);
      }
      await sleep(100);
    }
  }

  /**
   * A 3-member etcd cluster as containers on the stack's network (this machine's /usr/bin/etcd,
   * mounted into the test image), where the balancer containers reach it. Resolves with the client
   * endpoints once a member reports the cluster healthy; removed with the extra balancers.
   */
  async etcd(): Promise<string> {
    const names = [0, 1, 2].map((i) => `${this.stack}-etcd${i}`);
    const initial = names.map((name, i) => `m${i}=http://${name}:2380`).join(',');
    for (const [i, name] of names.entries()) {
      this.#balancers.push(name);
      await docker(
        ...['run', '--detach', '--name', name, '--network', this.network, '--user', 'root'],
        ...['--volume', `${ETCD}:/usr/local/bin/etcd:ro`, '--entrypoint', '/usr/local/bin/etcd', TEST_IMAGE],
        ...['--name', `m${i}`, '--data-dir', `/tmp/m${i}`, '--log-level', 'error'],
        ...['--listen-client-urls', 'http://0.0.0.0:2379', '--advertise-client-urls', `http://${name}:2379`],
        ...[
          '--listen-peer-urls',
          'http://0.0.0.0:2380',
          '--initial-advertise-peer-urls',
          `http://${name}:2380`,
        ],
        ...['--initial-cluster', initial, '--initial-cluster-token', this.stack],
      );
    }
    const endpoints = names.map((name) => `http://${name}:2379`).join(',');
    const probe = `fetch('http://${names[0]}:2379/health').then((r) => r.json()).then((b) => process.exit(b.health === 'true' ? 0 : 1), () => process.exit(1))`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const healthy = await docker(
        ...['run', '--rm', '--network', this.network, '--entrypoint', 'node', TEST_IMAGE, '-e', probe],
      ).then(
        () => true,
        () => false,
      );
      if (healthy) return endpoints;
      if (Date.now() > deadline) throw new Error(`etcd on ${this.network} did not become healthy`);
      await sleep(500);
    }
  }

  /** The running container of the task in `slot`, and when it started (ms since the epoch). */
  async taskContainer(slot: number): Promise<{ id: string; startedAt: number } | undefined> {
    const ids = (
      await docker(
        'ps',
        '--quiet',
        '--no-trunc',
        '--filter',
        `label=com.docker.swarm.service.name=${this.service}`,
      )
    )
      .split('\n')
      .filter((id) => id !== '');
    for (const id of ids) {
      const [name, started] = (
        await docker('inspect', '--format', '{{.Name}} {{.State.StartedAt}}', id).catch(() => '')
      ).split(' ');
      if (name?.startsWith(`/${this.service}.${slot}.`)) return { id, startedAt: Date.parse(started!) };
    }
    return undefined;
  }

  async replicas(): Promise<number> {
    return Number(
      await docker('service', 'inspect', '--format', '{{.Spec.Mode.Replicated.Replicas}}', this.service),
    );
  }

  /** What is left of the stack: its containers, services and networks, by label. */
  async leftovers(): Promise<string[]> {
    const label = `label=com.docker.stack.namespace=${this.stack}`;
    const swarm = (await swarmState()) === 'active';
    const lists = await Promise.all([
      docker('ps', '-a', '--format', '{{.Names}}', '--filter', label),
      swarm ? docker('service', 'ls', '--format', '{{.Name}}', '--filter', label) : '',
      docker('network', 'ls', '--format', '{{.Name}}', '--filter', label),
    ]);
    return lists.flatMap((list) => list.split('\n')).filter((name) => name !== '');
  }

  /** The extra balancers and etcd members (before `swarm-down`: a container on the network keeps it in use). */
  async removeBalancers(): Promise<void> {
    for (const name of this.#balancers.splice(0))
      await docker('rm', '--force', name).catch(report(`removing ${name}`));
  }

  /** The extra balancers, then (if `swarm-down` has not) the stack itself; never throws (afterAll). */
  async remove(): Promise<void> {
    await this.removeBalancers();
    if ((await this.leftovers().catch(() => [])).length === 0) return;
    await this.make('swarm-down').catch(report(`make swarm-down STACK=${this.stack}`));
  }
}
