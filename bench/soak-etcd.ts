// The soak's `--membership etcd` environment: a real 3-member etcd cluster (test/etcd-helpers.ts),
// two `ringlb start --membership etcd` instances sharing one cluster name, TLS on both, and the
// replicas ringlb itself starts (detached processes that outlive an instance and are adopted by
// the next leader). Its faults: a replica SIGKILLed or SIGSTOPped (ringlb replaces it itself),
// /add and /rm, a certificate rotation, an etcd member SIGKILLed and started again, and the leader
// instance SIGKILLed (then started again on its port, as a service manager would).
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { EtcdCluster } from '../test/etcd-helpers.js';
import { freePort, sleep } from './lib/net.js';
import { stopGroup, type Started } from './lib/processes.js';
import { RINGLB_MAIN, startRinglb } from './lib/ringlb.js';
import { control } from './soak-control.js';
import type { FaultTargets } from './soak-faults.js';
import { listening, type Environment, type EnvironmentOptions } from './soak-local.js';
import { replicaStates } from './soak-sampler.js';

const INSTANCES = 2;
const run = promisify(execFile);

/** A replica process of this run, from its process title (`ringlb replica "Server 3" :PORT`). */
interface ReplicaProcess {
  readonly pid: number;
  readonly name: string;
  readonly port: number;
}

function replicaProcesses(mark: string): ReplicaProcess[] {
  const found: ReplicaProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(mark)) continue;
      const title = readFileSync(`/proc/${entry}/cmdline`, 'latin1').replace(/\0+$/, '');
      const match = /^ringlb replica ("(?:[^"\\]|\\.)*") :(\d+)/.exec(title);
      if (match)
        found.push({ pid: Number(entry), name: JSON.parse(match[1]!) as string, port: Number(match[2]) });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

interface Instance {
  readonly port: number;
  readonly origin: string;
  process: Started;
}

export async function etcdEnvironment(options: EnvironmentOptions): Promise<Environment> {
  const { certs, log } = options;
  const cluster = await EtcdCluster.start(3);
  const clusterName = `soak-${randomUUID().slice(0, 8)}`;
  const argsFor = (port: number) => [
    ...['--membership', 'etcd', '--etcd-endpoints', cluster.endpoints, '--cluster-name', clusterName],
    ...['--replicas', String(options.replicas), '--host', '127.0.0.1', '--port', String(port)],
    ...['--tls-cert', certs.cert, '--tls-key', certs.key],
    ...['--upstream-timeout', String(options.upstreamTimeoutMs), '--log-level', 'info'],
    ...(options.workers === undefined ? [] : ['--workers', String(options.workers)]),
  ];
  const launch = async (port: number, label: string): Promise<Started> => {
    let up = false;
    const started = startRinglb(argsFor(port), {
      env: options.env,
      onLog: (line) => {
        if (line.msg === 'ringlb listening') up = true;
        if (line.msg === 'replica state changed')
          log(
            `ringlb ${label}: ${String(line.fields.replica)} ${String(line.fields.from)} → ${String(line.fields.to)} (${String(line.fields.reason ?? '')})`,
          );
      },
    });
    await listening(started, () => up, 60_000);
    return started;
  };
  const instances: Instance[] = [];
  try {
    for (let i = 0; i < INSTANCES; i++) {
      const port = await freePort();
      const origin = `https://127.0.0.1:${port}`;
      instances.push({ port, origin, process: await launch(port, `#${i + 1}`) });
    }
  } catch (error) {
    for (const instance of instances) await stopGroup(instance.process, 3000);
    await cluster.stop();
    throw error;
  }

  const ask = (i: number, method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) =>
    control(instances[i]!.origin, certs.tls, method, path, body, 5_000);
  /** Names in the ring, from the first instance that answers. */
  const names = async (): Promise<string[]> => {
    for (let i = 0; i < instances.length; i++) {
      const reply = await ask(i, 'GET', '/rep');
      if (reply.status === 200)
        return (JSON.parse(reply.text) as { message: { replicas: string[] } }).message.replicas;
    }
    return [];
  };
  const states = async () => {
    const summed: Record<string, number> = {};
    let answered = 0;
    for (let i = 0; i < instances.length; i++) {
      const reply = await ask(i, 'GET', '/metrics');
      if (reply.status !== 200) continue;
      answered++;
      for (const [state, n] of Object.entries(replicaStates(reply.text)))
        summed[state] = (summed[state] ?? 0) + n;
    }
    return { states: summed, wanted: (await names()).length * Math.max(1, answered) };
  };
  let memberToRestart = 0;

  const targets: FaultTargets = {
    async signalable() {
      const inRing = new Set(await names());
      return replicaProcesses(options.mark)
        .filter((replica) => inRing.has(replica.name))
        .map((replica) => ({
          name: replica.name,
          signal: (signal: NodeJS.Signals) => {
            try {
              process.kill(replica.pid, signal);
              return true;
            } catch {
              return false;
            }
          },
        }));
    },
    async settled(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { states: now, wanted } = await states();
        if (
          wanted > 0 &&
          now.healthy === wanted &&
          Object.entries(now).every(([s, n]) => s === 'healthy' || n === 0)
        )
          return;
        if (Date.now() > deadline) return;
        await sleep(250);
      }
    },
    control: (method, path, body) => ask(0, method, path, body),
    rotateCertificate: () => certs.rotate(instances.map((instance) => instance.origin)),
    async etcdMemberRestart() {
      const i = memberToRestart++ % cluster.members.length;
      cluster.stopMember(i);
      await sleep(2_000);
      cluster.startMember(i);
      await cluster.waitHealthy(20_000);
      return `etcd member m${i} (SIGKILL, started again 2 s later)`;
    },
    async killLeader() {
      let leader = -1;
      for (let i = 0; i < instances.length && leader < 0; i++) {
        const reply = await ask(i, 'GET', '/rep');
        if (String(reply.headers['x-ringlb-membership'] ?? '').includes('leader')) leader = i;
      }
      if (leader < 0) throw new Error('no instance says it leads (x-ringlb-membership)');
      const instance = instances[leader]!;
      process.kill(-instance.process.pid, 'SIGKILL');
      await instance.process.exited;
      log(`instance #${leader + 1} (the leader) SIGKILLed; started again on its port in 2 s`);
      await sleep(2_000);
      instance.process = await launch(instance.port, `#${leader + 1}`);
      return { target: `instance #${leader + 1} (the leader)`, instance: instance.origin };
    },
  };

  return {
    origins: instances.map((instance) => instance.origin),
    replicaKind: 'ringlb',
    grpc: false,
    roleOf: (pid) => {
      const i = instances.findIndex((instance) => instance.process.pid === pid);
      return i >= 0 ? `instance #${i + 1}` : 'worker';
    },
    targets,
    // Replicas (and one more during /add, one replacement starting) and the etcd members.
    pooledPeers: options.replicas + 2 + cluster.members.length,
    fdPeers: {
      listenPorts: new Set(instances.map((instance) => instance.port)),
      replicaPorts: () => new Set(replicaProcesses(options.mark).map((replica) => replica.port)),
      named: new Map(cluster.members.map((member) => [Number(new URL(member.client).port), 'etcd'])),
    },
    replicas: states,
    description: [
      `a 3-member etcd cluster (${cluster.endpoints}); ${INSTANCES} instances of \`ringlb start ${argsFor(0)
        .join(' ')
        .replace(/--etcd-endpoints \S+/, '--etcd-endpoints …')
        .replace(/--port 0/, '--port …')}\``,
      `${options.replicas} replicas started by ringlb (its own replica processes, detached: a new leader adopts them); ringlb replaces a killed one itself`,
    ],
    async stop() {
      const leftovers: string[] = [];
      // Stops every replica of the cluster, whichever instance started them.
      await run(
        process.execPath,
        [RINGLB_MAIN, 'down', '--etcd-endpoints', cluster.endpoints, '--cluster-name', clusterName],
        { env: options.env, timeout: 30_000 },
      ).catch((error: Error) => leftovers.push(`ringlb down failed: ${error.message.split('\n')[0]}`));
      for (const instance of instances)
        if (await stopGroup(instance.process, 5000))
          leftovers.push(`processes of instance ${instance.origin}'s group outlived it by 1 s (then killed)`);
      await cluster.stop();
      return leftovers;
    },
  };
}
