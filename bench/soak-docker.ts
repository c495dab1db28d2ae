// The soak's `--provider docker` environment: one `ringlb start --provider docker` with TLS, its
// replicas containers of the ringlb image (built by .ci/docker.sh), under a cluster name of this
// run's own so that no other container is touched. Its faults: /add, /rm, PUT /ring, a certificate
// rotation and, only with --restart-dockerd, a restart of the machine's dockerd: that stops every
// container on the machine (other people's too), which is why it has a flag of its own.
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { openSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { freePort, sleep } from './lib/net.js';
import { stopGroup } from './lib/processes.js';
import { startRinglb } from './lib/ringlb.js';
import { control } from './soak-control.js';
import type { FaultTargets } from './soak-faults.js';
import { listening, type Environment, type EnvironmentOptions } from './soak-local.js';
import { replicaStates } from './soak-sampler.js';

const run = promisify(execFile);
const LABEL_CLUSTER = 'io.ringlb.cluster';

async function docker(...args: string[]): Promise<string> {
  return (await run('docker', args, { timeout: 30_000 })).stdout;
}

async function dockerAnswers(): Promise<boolean> {
  return docker('version', '--format', '{{.Server.Version}}').then(
    () => true,
    () => false,
  );
}

/** The published host ports of this run's containers. */
async function containerPorts(cluster: string): Promise<Set<number>> {
  const out = await docker(
    'ps',
    '--filter',
    `label=${LABEL_CLUSTER}=${cluster}`,
    '--format',
    '{{.Ports}}',
  ).catch(() => '');
  return new Set([...out.matchAll(/:(\d+)->/g)].map((match) => Number(match[1])));
}

/**
 * Stops the machine's dockerd (SIGTERM, as a service manager would) and starts it again with the
 * same command line, then waits until it answers. Containers without a restart policy stay stopped.
 */
async function restartDockerd(log: (line: string) => void): Promise<void> {
  const pid = Number((await run('pgrep', ['-xo', 'dockerd'])).stdout.trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error('no dockerd process to restart');
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean);
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 300; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      break;
    }
    await sleep(100);
  }
  log(`dockerd (pid ${pid}) stopped; starting "${argv.join(' ')}" again`);
  const out = openSync('/tmp/ringlb-dockerd.log', 'a');
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', out, out] });
  child.unref();
  for (let i = 0; i < 120 && !(await dockerAnswers()); i++) await sleep(500);
  if (!(await dockerAnswers())) throw new Error('dockerd did not answer within 60 s of its restart');
}

export async function dockerEnvironment(
  options: EnvironmentOptions & { readonly restartDockerd: boolean },
): Promise<Environment> {
  const { certs, log } = options;
  if (!(await dockerAnswers())) throw new Error('docker does not answer: run bash .ci/docker.sh first');
  await docker('image', 'inspect', 'ringlb:latest').catch(() => {
    throw new Error('the image ringlb:latest is missing: run bash .ci/docker.sh first');
  });
  const cluster = `soak-${randomUUID().slice(0, 8)}`;
  const port = await freePort();
  const origin = `https://127.0.0.1:${port}`;
  const args = [
    ...['--provider', 'docker', '--cluster-name', cluster, '--replicas', String(options.replicas)],
    ...['--host', '127.0.0.1', '--port', String(port), '--tls-cert', certs.cert, '--tls-key', certs.key],
    ...['--upstream-timeout', String(options.upstreamTimeoutMs), '--log-level', 'info'],
    ...(options.workers === undefined ? [] : ['--workers', String(options.workers)]),
  ];
  let up = false;
  const ringlb = startRinglb(args, {
    env: options.env,
    onLog: (line) => {
      if (line.msg === 'ringlb listening') up = true;
      if (line.msg === 'replica state changed')
        log(
          `ringlb: ${String(line.fields.replica)} ${String(line.fields.from)} → ${String(line.fields.to)} (${String(line.fields.reason ?? '')})`,
        );
    },
  });
  await listening(ringlb, () => up, 120_000);
  let ports = await containerPorts(cluster);

  const ask = (method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) =>
    control(origin, certs.tls, method, path, body, 10_000);
  const names = async (): Promise<string[]> => {
    const reply = await ask('GET', '/rep');
    if (reply.status !== 200) return [];
    return (JSON.parse(reply.text) as { message: { replicas: string[] } }).message.replicas;
  };
  const states = async () => {
    const reply = await ask('GET', '/metrics');
    return { states: reply.status === 200 ? replicaStates(reply.text) : {}, wanted: (await names()).length };
  };
  const targets: FaultTargets = {
    signalable: async () => [],
    async settled(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { states: now, wanted } = await states();
        if (
          wanted > 0 &&
          now.healthy === wanted &&
          Object.entries(now).every(([s, n]) => s === 'healthy' || n === 0)
        )
          break;
        if (Date.now() > deadline) break;
        await sleep(250);
      }
      ports = await containerPorts(cluster);
    },
    control: (method, path, body) => ask(method, path, body),
    rotateCertificate: () => certs.rotate([origin]),
    ...(options.restartDockerd ? { dockerdRestart: () => restartDockerd(log) } : {}),
  };

  return {
    origins: [origin],
    replicaKind: 'ringlb',
    grpc: false,
    roleOf: (pid) => (pid === ringlb.pid ? 'primary' : 'worker'),
    targets,
    // Replicas (and one more during /add, one replacement starting).
    pooledPeers: options.replicas + 2,
    fdPeers: { listenPorts: new Set([port]), replicaPorts: () => ports },
    replicas: states,
    description: [
      `\`ringlb start ${args.join(' ')}\`: its replicas are containers of ringlb:latest, labelled with this run's cluster name`,
      options.restartDockerd
        ? "with --restart-dockerd: the machine's dockerd is stopped (SIGTERM) and started again, which stops every container on it"
        : 'without --restart-dockerd: no dockerd restart among the faults',
    ],
    async stop() {
      const leftovers: string[] = [];
      if (await stopGroup(ringlb, 15_000))
        leftovers.push("processes of the balancer's group outlived it by 1 s (then killed)");
      // The balancer removes its containers on exit (--docker-on-exit remove); any left are orphans.
      const left = (
        await docker('ps', '-aq', '--filter', `label=${LABEL_CLUSTER}=${cluster}`).catch(() => '')
      )
        .split('\n')
        .filter(Boolean);
      if (left.length > 0) {
        leftovers.push(`${left.length} container(s) of the run left behind (then removed)`);
        await docker('rm', '-f', ...left).catch(() => undefined);
      }
      return leftovers;
    },
  };
}
