import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { docker, TEST_IMAGE } from './docker-helpers.js';

/**
 * A real single-node swarm for the tests. Swarm is one per daemon, so a test run takes a lock that
 * other runs on this machine wait for; it joins the swarm if the daemon is in none (and leaves it
 * again at the end), else uses the one there and leaves it be. Everything a test makes is named with
 * its own prefix and removed at the end, even when the test failed.
 */
export interface SwarmSession {
  /** Whether this run created the swarm (and so leaves it at the end). */
  readonly created: boolean;
  /** Removes what the run made, leaves the swarm if it created it, releases the lock. */
  release(): Promise<void>;
}

const LOCK = '/tmp/ringlb-swarm-test.lock';

/** Holds `LOCK` with flock(1) until `release` kills it (`--no-fork`: the one process holds the lock). */
async function lock(): Promise<ChildProcess> {
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

export async function joinSwarm(): Promise<SwarmSession> {
  const holder = await lock();
  const state = await docker('info', '--format', '{{.Swarm.LocalNodeState}}');
  const created = state !== 'active';
  if (created) await docker('swarm', 'init', '--advertise-addr', '127.0.0.1');
  return {
    created,
    async release() {
      try {
        if (created) await docker('swarm', 'leave', '--force').catch(report('leaving the swarm'));
      } finally {
        holder.kill('SIGKILL');
      }
    },
  };
}

function report(what: string): (error: unknown) => void {
  return (error) => console.error(`swarm test cleanup: ${what} failed: ${(error as Error).message}`);
}

/**
 * What one test file makes in the swarm, all named `<prefix>-…`: an attachable overlay network, a
 * replica service on it, and balancer containers on it with the Docker socket. `remove` takes all of
 * it away (containers, then services, then the network once Swarm has let go of it).
 */
export class SwarmFixture {
  readonly prefix: string;
  readonly network: string;
  readonly service: string;
  readonly #balancers: string[] = [];

  constructor(prefix: string) {
    this.prefix = prefix;
    this.network = `${prefix}-net`;
    this.service = `${prefix}-replica`;
  }

  /** The network and the replica service, `replicas` tasks, each serving as "Server <slot>". */
  async deploy(replicas: number): Promise<void> {
    await docker('network', 'create', '--driver', 'overlay', '--attachable', this.network);
    await docker(
      'service',
      'create',
      '--detach',
      '--quiet',
      '--name',
      this.service,
      '--network',
      this.network,
      '--endpoint-mode',
      'dnsrr',
      '--replicas',
      String(replicas),
      '--restart-condition',
      'any',
      '--restart-delay',
      '0s',
      '--stop-grace-period',
      '2s',
      '--env',
      'SERVER_ID={{.Task.Slot}}',
      // The replica alone, without the balancer's modules: it listens in a third of the time.
      '--entrypoint',
      'node dist/replica/entry.js',
      TEST_IMAGE,
    );
  }

  /**
   * A balancer container on the network, published on a free loopback port, following the service.
   * Resolves with its URL once it listens.
   */
  async balancer(...args: string[]): Promise<{ name: string; url: string }> {
    const name = `${this.prefix}-lb${this.#balancers.length + 1}`;
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
      '--workers',
      '1',
      ...args,
    );
    const port = (await docker('port', name, '5000')).split('\n')[0]!.split(':').pop()!;
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const logs = await docker('logs', name).catch(() => '');
      if (logs.includes('ringlb listening')) return { name, url };
      const state = await docker('inspect', '--format', '{{.State.Status}}', name);
      if (state !== 'running' || Date.now() > deadline) {
        throw new Error(`balancer ${name} did not start (${state}):\n${logs}`);
      }
      await sleep(100);
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

  /** Removes every balancer, the service and the network; never throws (for afterAll). */
  async remove(): Promise<void> {
    for (const name of this.#balancers) await docker('rm', '--force', name).catch(report(`removing ${name}`));
    await docker('service', 'rm', this.service).catch(report(`removing ${this.service}`));
    // The network goes once the service's tasks have let go of it, a few seconds later.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      try {
        await docker('network', 'rm', this.network);
        return;
      } catch (error) {
        if (/not found/.test((error as Error).message)) return;
        await sleep(250);
      }
    }
    report(`removing ${this.network}`)(new Error('still in use after 30 s'));
  }
}
