// The soak run (issue 18): a fixed-rate mix of HTTP/1.1, HTTP/2, gRPC and WebSocket traffic, with
// misbehaving clients, through ringlb with TLS for --minutes (default 10; --quick: 60 s), a clean
// phase first and then faults on a schedule. Records every second, writes reports/soak.md with its
// charts, and ends with one line: `soak: … : ok` or `: FAILED <which>` (and a non-zero exit).
//   npm run soak [-- --minutes M | --quick] [--membership etcd] [--provider docker] [--rate R]
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { sleep } from './lib/net.js';
import { onInterrupt, stopAll } from './lib/processes.js';
import { assertBuilt, RINGLB_MAIN } from './lib/ringlb.js';
import { CertificateRotation } from './soak-certs.js';
import { closeControl } from './soak-control.js';
import { describeKinds, fdKinds, pooled, pooledBound } from './soak-fds.js';
import { faultCycle, faultPlan, inject, type FaultTiming } from './soak-faults.js';
import type { FaultWindow } from './soak-judge.js';
import { dockerEnvironment } from './soak-docker.js';
import { etcdEnvironment } from './soak-etcd.js';
import { localEnvironment, type Environment } from './soak-local.js';
import { soakOptions } from './soak-options.js';
import { Recorder } from './soak-record.js';
import { writeSoakReport, type SoakRun } from './soak-report.js';
import { markedProcesses, sampleProcesses, type Sample } from './soak-sampler.js';
import { TrafficMix } from './soak-traffic.js';

const PROBE = fileURLToPath(new URL('./soak-probe.js', import.meta.url));

async function main(): Promise<number> {
  const opts = soakOptions(process.argv.slice(2));
  assertBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'ringlb-soak-'));
  onInterrupt(() => rmSync(dir, { recursive: true, force: true }));
  const markName = 'RINGLB_SOAK_RUN';
  const markValue = randomUUID();
  const mark = `${markName}=${markValue}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    [markName]: markValue,
    SOAK_PROBE_DIR: dir,
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${pathToFileURL(PROBE).href}`.trim(),
  };
  const log = (line: string) => console.log(line);

  const cleanMs = Math.round(opts.loadMs * 0.2);
  const faultGapMs = opts.quick ? 4_500 : 20_000;
  const faultsToMs = opts.loadMs - (opts.quick ? 6_000 : 20_000);
  const kinds = faultCycle(opts);
  const plan = faultPlan(kinds, cleanMs, faultsToMs, faultGapMs);
  const certs = new CertificateRotation(
    dir,
    Math.max(1, plan.filter((f) => f.kind === 'certificate rotation').length),
  );
  const timing: FaultTiming = {
    stopMs: opts.quick ? 3_000 : 5_000,
    misbehaveMs: opts.quick ? 3_000 : 6_000,
    restartAfterMs: 2_000,
    settleMs: 10_000,
  };
  const environmentOptions = {
    replicas: opts.replicas,
    upstreamTimeoutMs: opts.upstreamTimeoutMs,
    upstream: opts.upstream,
    workers: opts.workers,
    certs,
    mark,
    env,
    log,
  };
  const environment: Environment =
    opts.membership === 'etcd'
      ? await etcdEnvironment(environmentOptions)
      : opts.provider === 'docker'
        ? await dockerEnvironment({ ...environmentOptions, restartDockerd: opts.restartDockerd })
        : await localEnvironment(environmentOptions);
  console.log(`soak: ${environment.description.join('; ')}`);
  await environment.targets.settled(15_000);

  const ringlbPids = () => markedProcesses(mark, RINGLB_MAIN);
  const samples: Sample[] = [];
  let asking = true;
  let loadStart = Date.now();
  const sampleNow = async () => {
    const at = Date.now();
    const processes = sampleProcesses(ringlbPids(), environment.roleOf, dir);
    // After the load the harness asks the balancer nothing, so that its fds are the load's alone.
    const states = asking ? (await environment.replicas()).states : (samples.at(-1)?.states ?? {});
    samples.push({
      t: at - loadStart,
      at,
      processes,
      rssMb: processes.reduce((s, p) => s + p.rssMb, 0),
      fds: processes.reduce((s, p) => s + p.fds, 0),
      states,
    });
  };

  // Warm-up: a few seconds of the mix, then quiet until the fds settle; that count is the baseline.
  const warm = new TrafficMix({
    origins: environment.origins,
    tls: certs.tls,
    recorder: new Recorder(Date.now()),
    rate: opts.rate,
    replicas: environment.replicaKind,
    grpc: environment.grpc,
  });
  warm.start();
  await sleep(3_000);
  await warm.stop();
  await sleep(7_000);
  const baselineFds = sampleProcesses(ringlbPids(), environment.roleOf, dir).reduce((s, p) => s + p.fds, 0);
  const baselineKinds = fdKinds(ringlbPids(), environment.fdPeers);
  console.log(
    `soak: warm-up done; ${baselineFds} open fds in the balancer processes (${describeKinds(baselineKinds)})`,
  );

  loadStart = Date.now();
  const recorder = new Recorder(loadStart);
  const mix = new TrafficMix({
    origins: environment.origins,
    tls: certs.tls,
    recorder,
    rate: opts.rate,
    replicas: environment.replicaKind,
    grpc: environment.grpc,
  });
  mix.start(loadStart);
  let sampling = true;
  const sampler = (async () => {
    for (let next = loadStart; sampling; next += 1000) {
      await sleep(next - Date.now());
      await sampleNow();
    }
  })();

  const faults: FaultWindow[] = [];
  for (const planned of plan) {
    await sleep(loadStart + planned.at - Date.now());
    if (Date.now() > loadStart + faultsToMs + faultGapMs) break;
    console.log(`t=${((Date.now() - loadStart) / 1000).toFixed(1)} s  ${planned.kind}`);
    const window = await inject(planned.kind, environment.targets, timing, log).catch((error: Error) => {
      log(`${planned.kind} failed: ${error.message}`);
      return undefined;
    });
    if (window) faults.push(window);
  }
  await sleep(loadStart + opts.loadMs - Date.now());
  await mix.stop();
  const stoppedAt = Date.now();
  // The harness's own connections (control calls, the per-second scrape) go too: what stays open
  // afterwards is the balancer's. (A worker's relay to the primary idles out like any keep-alive.)
  asking = false;
  await closeControl();
  console.log(
    `soak: load stopped after ${((stoppedAt - loadStart) / 1000).toFixed(0)} s; ${recorder.sent} requests`,
  );
  // Fds after the load, 4 times a second for 12 s, with how many are connections to replicas.
  const after: { at: number; fds: number; pooled: number }[] = [];
  let endKinds: Record<string, number> = {};
  const baselineOwn = baselineFds - pooled(baselineKinds);
  while (Date.now() < stoppedAt + 12_000) {
    const pids = ringlbPids();
    endKinds = fdKinds(pids, environment.fdPeers);
    const sample = {
      at: Date.now(),
      fds: sampleProcesses(pids, environment.roleOf, dir).reduce((s, p) => s + p.fds, 0),
      pooled: pooled(endKinds),
    };
    after.push(sample);
    // Back, and the pools within their bound (what the report checks): no need to wait out 12 s.
    const poolBound = pooledBound(pids.length, environment.pooledPeers);
    if (
      sample.fds - sample.pooled <= baselineOwn &&
      sample.pooled <= poolBound &&
      sample.at - stoppedAt >= 2_000
    )
      break;
    await sleep(250);
  }
  const endProcesses = ringlbPids().length;
  console.log(
    `soak: ${after.at(-1)?.fds ?? '?'} open fds ${(((after.at(-1)?.at ?? stoppedAt) - stoppedAt) / 1000).toFixed(1)} s after the load (${describeKinds(endKinds)})`,
  );
  sampling = false;
  await sampler;
  asking = true;
  await environment.targets.settled(10_000);
  const end = await environment.replicas();
  await closeControl();
  const leftovers = await environment.stop();
  await sleep(1_000);
  const orphans = markedProcesses(mark, '');
  for (const pid of orphans) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  rmSync(dir, { recursive: true, force: true });

  const run: SoakRun = {
    opts,
    argv: process.argv.slice(2),
    description: [...environment.description, ...mix.describe()],
    loadStart,
    stoppedAt,
    cleanMs,
    recorder,
    misbehaving: mix.misbehaving,
    samples,
    after,
    baselineFds,
    baselineKinds,
    endKinds,
    endProcesses,
    pooledPeers: environment.pooledPeers,
    faults,
    certificateMs: certs.tookEffectMs,
    endStates: end,
    orphans: [...leftovers, ...orphans.map((pid) => `pid ${pid} (killed)`)],
  };
  const { lastLine, failed } = await writeSoakReport(run);
  console.log(lastLine);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    await stopAll();
    console.log(
      'soak: 0 requests, 0 unexpected failures, RSS slope – MB/min, fd slope –/min: FAILED the run itself',
    );
    process.exit(1);
  },
);
