// The default soak environment: the soak's own replicas (bench/soak-replica.ts, HTTP/1.1 + h2c on
// one port) behind one `ringlb start --provider static` with TLS, its workers, and the probe.
import { freePort, sleep } from './lib/net.js';
import { stopGroup, type Started } from './lib/processes.js';
import { startRinglb } from './lib/ringlb.js';
import type { CertificateRotation } from './soak-certs.js';
import { control } from './soak-control.js';
import type { FaultTargets, FaultTiming } from './soak-faults.js';
import type { FdPeers } from './soak-fds.js';
import { SoakReplica } from './soak-replicas.js';
import { replicaStates } from './soak-sampler.js';

export interface Environment {
  readonly origins: string[];
  readonly replicaKind: 'soak' | 'ringlb';
  /** Whether the replicas are reached over HTTP/2, so that gRPC can pass. */
  readonly grpc: boolean;
  /** The balancer processes' roles by pid, for the report (primary, worker). */
  roleOf(pid: number): string;
  readonly targets: FaultTargets;
  /** Whose sockets the balancer's fds are: to tell client, replica and other connections apart. */
  readonly fdPeers: FdPeers;
  /** Servers the balancer may keep a connection to (replicas, etcd members): its pools' bound. */
  readonly pooledPeers: number;
  /** The replicas of every instance by state, and how many the balancer should have. */
  replicas(): Promise<{ states: Record<string, number>; wanted: number }>;
  /** Stops every balancer, replica and helper it started; resolves with what was still running. */
  stop(): Promise<string[]>;
  readonly description: string[];
}

export interface EnvironmentOptions {
  readonly replicas: number;
  readonly upstreamTimeoutMs: number;
  readonly upstream: 'h2c' | 'http1';
  readonly workers: number | undefined;
  readonly certs: CertificateRotation;
  /** NAME=value set in every process this run starts, to find them (and any orphan) later. */
  readonly mark: string;
  readonly env: NodeJS.ProcessEnv;
  readonly log: (line: string) => void;
}

/** Waits for ringlb's "listening" line; throws with its output if it exits or takes too long. */
export async function listening(ringlb: Started, seen: () => boolean, timeoutMs = 30_000): Promise<void> {
  let exit: string | undefined;
  void ringlb.exited.then((code) => (exit = code));
  const deadline = Date.now() + timeoutMs;
  while (!seen()) {
    if (exit !== undefined || Date.now() > deadline)
      throw new Error(
        `ringlb did not start (${exit ?? 'no "ringlb listening" in 30 s'}):\n${ringlb.output().slice(-3000)}`,
      );
    await sleep(50);
  }
}

export async function localEnvironment(options: EnvironmentOptions): Promise<Environment> {
  const { certs } = options;
  // One backend more than replicas, for /add.
  const replicas = Array.from(
    { length: options.replicas + 1 },
    (_, i) => new SoakReplica(`S${i + 1}`, options.env, options.upstream === 'h2c' ? 'h2c' : 'http'),
  );
  for (const replica of replicas) await replica.start();
  const port = await freePort();
  const origin = `https://127.0.0.1:${port}`;
  const args = [
    ...['--provider', 'static', '--backends', replicas.map((r) => r.backend).join(',')],
    ...['--replicas', String(options.replicas), '--host', '127.0.0.1', '--port', String(port)],
    ...['--tls-cert', certs.cert, '--tls-key', certs.key],
    ...['--upstream-timeout', String(options.upstreamTimeoutMs), '--log-level', 'info'],
    ...(options.workers === undefined ? [] : ['--workers', String(options.workers)]),
  ];
  let up = false;
  const ringlb = startRinglb(args, {
    env: options.env,
    onLog: (line) => {
      if (line.msg === 'ringlb listening') up = true;
      if (line.msg === 'replica state changed')
        options.log(
          `ringlb: ${String(line.fields.replica)} ${String(line.fields.from)} → ${String(line.fields.to)} (${String(line.fields.reason ?? '')})`,
        );
    },
  });
  await listening(ringlb, () => up);

  /** Names in the ring now, from GET /rep; "Server k" is attached to backend k (static provider). */
  const names = async (): Promise<string[]> => {
    const reply = await control(origin, certs.tls, 'GET', '/rep');
    if (reply.status !== 200) return [];
    return (JSON.parse(reply.text) as { message: { replicas: string[] } }).message.replicas;
  };
  const replicaOf = (name: string) => replicas[Number(/(\d+)$/.exec(name)?.[1] ?? 0) - 1];
  const states = async () => {
    const reply = await control(origin, certs.tls, 'GET', '/metrics');
    const wanted = (await names()).length;
    return { states: reply.status === 200 ? replicaStates(reply.text) : {}, wanted };
  };
  let misbehaving: SoakReplica | undefined;

  const targets: FaultTargets = {
    async signalable() {
      return (await names())
        .map((name) => ({ name, replica: replicaOf(name) }))
        .filter(({ replica }) => replica?.pid !== undefined)
        .map(({ name, replica }) => ({
          name,
          signal: (signal: NodeJS.Signals) => replica!.signal(signal),
          restart: () => replica!.start(),
        }));
    },
    async misbehave(kind, on) {
      if (!on) {
        misbehaving?.setMode({ kind: 'normal' });
        misbehaving = undefined;
        return undefined;
      }
      const inRing = (await names()).filter((name) => replicaOf(name)?.pid !== undefined);
      const name = inRing[Math.floor(Math.random() * inRing.length)];
      if (name === undefined) return undefined;
      misbehaving = replicaOf(name)!;
      misbehaving.setMode(
        kind === 'slow'
          ? { kind: 'slow', delayMs: Math.round(options.upstreamTimeoutMs * 1.5) }
          : { kind: 'reset' },
      );
      return name;
    },
    async settled(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { states: now, wanted } = await states();
        if (now.healthy === wanted && Object.entries(now).every(([s, n]) => s === 'healthy' || n === 0))
          return;
        if (Date.now() > deadline) return;
        await sleep(200);
      }
    },
    control: (method, path, body) => control(origin, certs.tls, method, path, body),
    rotateCertificate: () => certs.rotate([origin]),
  };

  return {
    origins: [origin],
    replicaKind: 'soak',
    grpc: options.upstream === 'h2c',
    roleOf: (pid) => (pid === ringlb.pid ? 'primary' : 'worker'),
    targets,
    pooledPeers: replicas.length,
    fdPeers: {
      listenPorts: new Set([port]),
      replicaPorts: () => new Set(replicas.map((replica) => replica.port)),
    },
    replicas: states,
    description: [
      `\`ringlb start ${args.join(' ').replace(/--backends (\w+):\S+/, '--backends $1://127.0.0.1:…')}\``,
      `${replicas.length} soak replicas (bench/soak-replica.ts: HTTP/1.1 and h2c on one port, spoken to over ${options.upstream === 'h2c' ? 'h2c' : 'HTTP/1.1 (so no gRPC)'}), ${options.replicas} in the ring at the start; ` +
        'a killed replica is started again on its port 2 s later, as a supervisor would',
    ],
    async stop() {
      const leftovers = await stopGroup(ringlb, 5000);
      await Promise.all(replicas.map((replica) => replica.stop()));
      return leftovers ? ["processes of the balancer's group outlived it by 1 s (then killed)"] : [];
    },
  };
}

export type { FaultTiming };
