import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAIN } from './main-path.js';
import { isAlive, waitFor } from './helpers.js';

export const ETCD = '/usr/bin/etcd';

/** Whether the etcd tests can run; under CI they must, so a missing etcd fails them instead. */
export function etcdAvailable(): boolean {
  if (existsSync(ETCD)) return true;
  if (process.env.CI === 'true') throw new Error(`${ETCD} is missing: .ci/run installs etcd-server`);
  return false;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Member {
  readonly name: string;
  readonly client: string;
  readonly args: string[];
  process: ChildProcess | undefined;
}

/** A 3-member etcd cluster on loopback ports, its data in a temporary directory. */
export class EtcdCluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'ringlb-etcd-'));
  readonly members: Member[] = [];

  static async start(size = 3): Promise<EtcdCluster> {
    const cluster = new EtcdCluster();
    const ports = [];
    for (let i = 0; i < size; i++) ports.push({ client: await freePort(), peer: await freePort() });
    const token = randomUUID();
    const initial = ports.map((p, i) => `m${i}=http://127.0.0.1:${p.peer}`).join(',');
    for (const [i, p] of ports.entries()) {
      const client = `http://127.0.0.1:${p.client}`;
      const peer = `http://127.0.0.1:${p.peer}`;
      cluster.members.push({
        name: `m${i}`,
        client,
        process: undefined,
        args: [
          ...['--name', `m${i}`, '--data-dir', join(cluster.dir, `m${i}`)],
          ...['--listen-client-urls', client, '--advertise-client-urls', client],
          ...['--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer],
          ...['--initial-cluster', initial, '--initial-cluster-state', 'new'],
          ...['--initial-cluster-token', token, '--heartbeat-interval', '50'],
          ...['--election-timeout', '500', '--log-level', 'error'],
        ],
      });
    }
    try {
      for (let i = 0; i < size; i++) cluster.startMember(i);
      await cluster.waitHealthy();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  get endpoints(): string {
    return this.members.map((m) => m.client).join(',');
  }

  startMember(i: number): void {
    const member = this.members[i]!;
    member.process = spawn(ETCD, member.args, { stdio: 'ignore' });
  }

  stopMember(i: number): void {
    const member = this.members[i]!;
    if (member.process?.exitCode === null) member.process.kill('SIGKILL');
    member.process = undefined;
  }

  /** Every running member answers /health with a leader elected. */
  async waitHealthy(timeoutMs = 15_000): Promise<void> {
    await waitFor(
      'etcd to be healthy',
      async () => {
        for (const member of this.members.filter((m) => m.process)) {
          const ok = await fetch(`${member.client}/health`, { signal: AbortSignal.timeout(1_000) })
            .then((r) => r.json() as Promise<{ health?: string }>)
            .then((body) => body.health === 'true')
            .catch(() => false);
          if (!ok) return undefined;
        }
        return true;
      },
      timeoutMs,
    );
  }

  async stop(): Promise<void> {
    for (let i = 0; i < this.members.length; i++) this.stopMember(i);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Marks every process a test starts (balancers and the replicas they start) for cleanup. */
export const RUN_MARK = `RINGLB_TEST_RUN=${randomUUID()}`;

export interface Instance {
  readonly child: ChildProcess;
  readonly url: string;
}

export async function startInstance(
  endpoints: string,
  clusterName: string,
  ...args: string[]
): Promise<Instance> {
  const child = spawn(
    process.execPath,
    [
      MAIN,
      'start',
      ...['--host', '127.0.0.1', '--port', '0', '--workers', '1', '--log-level', 'info'],
      ...['--membership', 'etcd', '--etcd-endpoints', endpoints, '--cluster-name', clusterName],
      ...args,
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, [RUN_MARK.split('=')[0]!]: RUN_MARK.split('=')[1]! },
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) if (line.includes('"ringlb listening"')) resolve(JSON.parse(line).port);
    });
    child.once('exit', (code) => reject(new Error(`ringlb exited with ${code} before listening`)));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

/** Pids of every live process carrying this run's mark (balancers, replicas, workers). */
export function markedPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(RUN_MARK))
        pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Replica processes of this run (not balancers): those started with the replica entry. */
export function markedReplicaPids(): number[] {
  return markedPids().filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/environ`, 'latin1').includes('RINGLB_REPLICA_DETACHED=1');
    } catch {
      return false;
    }
  });
}

export async function killMarked(): Promise<void> {
  for (const pid of markedPids()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  await waitFor(
    'marked processes to exit',
    () => (markedPids().every((pid) => !isAlive(pid)) ? true : undefined),
    5_000,
  ).catch(() => undefined);
}

/** The replica `key` reaches through an instance: the body's server id. */
export async function routeOf(url: string, key: string): Promise<string> {
  const response = await fetch(`${url}/home`, { headers: { 'x-request-id': key } });
  return `${response.status} ${await response.text()}`;
}
