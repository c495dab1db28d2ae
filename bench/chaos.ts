// The chaos run (issue 5): constant, bounded load through `ringlb start` with local replicas while
// replicas are killed (SIGKILL), hung (SIGSTOP) and removed (/rm), spaced over the run. Writes
// reports/chaos.md and a timeline chart (reports/chaos.svg, and reports/chaos.png when
// @resvg/resvg-js is installed). Usage: npm run chaos [-- --quick] [--seconds 60] [--replicas 5]
// [--concurrency 32] [--rate 2000] [--kills 5] [--stops 1] [--removals 2] [--upstream-timeout 1000]
// [--ringlb-args "--retries 3"]
import { parseArgs } from 'node:util';
import type { ChartMembership } from './chaos-chart.js';
import { writeReport, type ChaosOptions, type FaultRecord, type Sample } from './chaos-report.js';
import { LoadGenerator } from './chaos-load.js';
import { faultPlan } from './chaos-plan.js';
import { RingMembership } from './chaos-membership.js';
import { fetchText, freePort, sleep } from './lib/net.js';
import { descendants, environOf, isRunning, processState, stopAll, stopGroup } from './lib/processes.js';
import { assertBuilt, startRinglb, type LogLine } from './lib/ringlb.js';

function options(argv: string[]): ChaosOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      seconds: { type: 'string' },
      replicas: { type: 'string' },
      concurrency: { type: 'string' },
      rate: { type: 'string' },
      kills: { type: 'string' },
      stops: { type: 'string' },
      removals: { type: 'string' },
      'upstream-timeout': { type: 'string' },
      'ringlb-args': { type: 'string' },
      'no-idle-kill': { type: 'boolean', default: false },
    },
  });
  const quick = values.quick ?? false;
  const count = (name: string, raw: string | undefined, fallback: number, min = 0) => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min)
      throw new Error(`--${name} must be an integer ≥ ${min}, not "${raw}"`);
    return value;
  };
  const result: ChaosOptions = {
    quick,
    seconds: count('seconds', values.seconds, quick ? 15 : 60, 5),
    replicas: count('replicas', values.replicas, 5, 2),
    concurrency: count('concurrency', values.concurrency, 32, 1),
    rate: count('rate', values.rate, 2000),
    kills: count('kills', values.kills, quick ? 2 : 5),
    stops: count('stops', values.stops, 1),
    removals: count('removals', values.removals, quick ? 1 : 2),
    upstreamTimeoutMs: count('upstream-timeout', values['upstream-timeout'], 1000, 1),
    idleKill: !(values['no-idle-kill'] ?? false),
    ringlbArgs: values['ringlb-args']?.split(/\s+/).filter((a) => a !== '') ?? [],
  };
  if (result.removals > result.replicas - 2) throw new Error('--removals must leave at least 2 replicas');
  return result;
}

/** Replica processes below the balancer, by replica number (SERVER_ID in their environment). */
function replicaPids(balancerPid: number): Map<number, number> {
  const pids = new Map<number, number>();
  for (const pid of descendants(balancerPid)) {
    const id = environOf(pid).get('SERVER_ID');
    if (id !== undefined && isRunning(pid)) pids.set(Number(id), pid);
  }
  return pids;
}

const numberOf = (name: string) => Number(/(\d+)$/.exec(name)?.[1] ?? NaN);
const greets = (text: string, number: number) => text.includes(`Hello from Server: ${number}"`);

/** An x-request-id the ring sends to replica `number` now (found by asking the balancer). */
async function ownedId(origin: string, number: number): Promise<number | undefined> {
  const deadline = Date.now() + 3000;
  for (let id = 1 + Math.floor(Math.random() * 100_000); Date.now() < deadline; id++) {
    const reply = await fetchText(`${origin}/home`, {
      headers: { 'x-request-id': String(id) },
      timeoutMs: 2000,
    }).catch(() => undefined);
    if (reply?.status === 200 && greets(reply.text, number)) return id;
  }
  return undefined;
}

/**
 * After a kill or a hang: sends the victim's own id every 50 ms (without waiting for slow answers)
 * until the replica number answers again, which only a replacement can; bounded by `untilMs`.
 */
async function watchServing(origin: string, fault: FaultRecord, untilMs: number): Promise<void> {
  if (fault.probeId === undefined) return;
  let inFlight = 0;
  while (fault.servingAt === undefined && Date.now() < untilMs) {
    if (inFlight < 40) {
      inFlight++;
      void fetchText(`${origin}/home`, {
        headers: { 'x-request-id': String(fault.probeId) },
        timeoutMs: 5000,
      })
        .then((reply) => {
          if (reply.status === 200 && greets(reply.text, fault.number) && fault.servingAt === undefined)
            fault.servingAt = Date.now();
        })
        .catch(() => undefined)
        .finally(() => inFlight--);
    }
    await sleep(50);
  }
  const deadline = Date.now() + 6000;
  while (inFlight > 0 && Date.now() < deadline) await sleep(20);
}

/**
 * Before the load: SIGKILL one replica of an idle balancer and wait (at most 10 s) until it is out of
 * the ring and a replacement serves; only the probe requests run meanwhile.
 */
async function idleKill(
  origin: string,
  balancerPid: number,
  membership: RingMembership,
): Promise<FaultRecord> {
  const name = [...membership.members][0];
  const number = name === undefined ? NaN : numberOf(name);
  const pid = replicaPids(balancerPid).get(number);
  const probeId = name === undefined ? undefined : await ownedId(origin, number);
  const fault: FaultRecord = { kind: 'SIGKILL', name: name ?? '?', number, pid, at: Date.now(), probeId };
  if (pid === undefined || probeId === undefined) {
    fault.note = 'no replica to kill';
    return fault;
  }
  await sleep(1000); // let the probes above age out of any per-replica pacing
  fault.at = Date.now();
  process.kill(pid, 'SIGKILL');
  console.log(`idle: SIGKILL ${name} (pid ${pid})`);
  let watching = true;
  const poller = (async () => {
    while (watching) {
      await membership.poll(origin);
      await sleep(50);
    }
  })();
  await watchServing(origin, fault, fault.at + 10_000);
  watching = false;
  await poller;
  fault.newPid = replicaPids(balancerPid).get(number);
  fault.outAt = membership.firstChange(fault.name, false, fault.at);
  if (fault.outAt !== undefined) fault.backAt = membership.firstChange(fault.name, true, fault.outAt);
  // Let the replacement settle before the load starts.
  await sleep(1000);
  return fault;
}

async function main(): Promise<void> {
  const opts = options(process.argv.slice(2));
  assertBuilt();
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const membership = new RingMembership();
  const logs: LogLine[] = [];
  let listening = false;
  const ringlb = startRinglb(
    [
      '--replicas',
      String(opts.replicas),
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--log-level',
      'info',
      '--upstream-timeout',
      String(opts.upstreamTimeoutMs),
      ...opts.ringlbArgs,
    ],
    {
      onLog: (line) => {
        if (line.msg === 'ringlb listening') listening = true;
        if (line.msg !== 'request' && logs.length < 10_000) logs.push(line);
        membership.onLog(line);
      },
    },
  );
  let exitCode: string | undefined;
  void ringlb.exited.then((code) => (exitCode = code));
  const startDeadline = Date.now() + 30_000;
  while (!listening) {
    if (exitCode !== undefined || Date.now() > startDeadline) {
      throw new Error(
        `ringlb did not start (${exitCode ?? 'no "ringlb listening" line in 30 s'}):\n${ringlb.output().slice(-3000)}`,
      );
    }
    await sleep(50);
  }
  await membership.detectEndpoint(origin);
  console.log(
    `ringlb pid ${ringlb.pid} on ${origin}, ${opts.replicas} replicas; ring membership from ${membership.source}`,
  );

  const idle = opts.idleKill ? await idleKill(origin, ringlb.pid, membership) : undefined;
  const plan = faultPlan(opts.kills, opts.stops, opts.removals);
  const load = new LoadGenerator({
    origin,
    concurrency: opts.concurrency,
    rate: opts.rate,
    timeoutMs: 10_000,
  });
  const start = Date.now();
  const end = start + opts.seconds * 1000;
  load.start(start);

  const samples: Sample[] = [];
  const timeline: ChartMembership[] = [];
  const faults: FaultRecord[] = [];
  const watchers: Promise<void>[] = [];
  let stopped: { pid: number; number: number } | undefined;
  let everStopped: number | undefined;

  const sampler = (async () => {
    while (Date.now() < end) {
      await membership.poll(origin);
      const index = Math.floor((Date.now() - start) / 1000);
      const processes = [...replicaPids(ringlb.pid).values()].filter(
        (pid) => processState(pid) !== 'T',
      ).length;
      const last = timeline[timeline.length - 1];
      if (last?.inRing !== membership.members.size || last.processes !== processes) {
        timeline.push({ at: (Date.now() - start) / 1000, inRing: membership.members.size, processes });
      }
      const sample = samples[index];
      if (sample === undefined) samples[index] = { inRing: membership.members.size, processes };
      else {
        sample.inRing = Math.min(sample.inRing, membership.members.size);
        sample.processes = Math.min(sample.processes, processes);
      }
      await sleep(50);
    }
  })();

  const driver = (async () => {
    for (let i = 0; i < plan.length; i++) {
      const kind = plan[i]!;
      const at = start + opts.seconds * 1000 * (0.1 + (plan.length > 1 ? (0.75 * i) / (plan.length - 1) : 0));
      await sleep(at - 600 - Date.now());
      if (Date.now() > end - 1000) {
        console.log(`fault ${i + 1} (${kind}) skipped: the run is nearly over`);
        continue;
      }
      // Replicas still failing, being replaced or being removed are not picked again.
      const busy = new Set(
        faults
          .filter((f) => (f.kind === '/rm' ? f.rmStatus === undefined : f.servingAt === undefined))
          .map((f) => f.number),
      );
      if (stopped) busy.add(stopped.number);
      const pids = replicaPids(ringlb.pid);
      const candidates = [...membership.members].filter(
        (name) => !busy.has(numberOf(name)) && pids.has(numberOf(name)),
      );
      const name = candidates[Math.floor(Math.random() * candidates.length)];
      if (name === undefined) {
        console.log(`fault ${i + 1} (${kind}) skipped: no healthy replica that is not already failing`);
        continue;
      }
      const number = numberOf(name);
      const probeId = kind === '/rm' ? undefined : await ownedId(origin, number);
      await sleep(at - Date.now());
      const pid = replicaPids(ringlb.pid).get(number);
      const fault: FaultRecord = { kind, name, number, pid, at: Date.now(), probeId };
      faults.push(fault);
      console.log(`t=${((fault.at - start) / 1000).toFixed(1)} s  ${kind} ${name} (pid ${pid ?? '?'})`);
      if (kind === '/rm') {
        // Not awaited: a slow drain must not push the later faults out of the run.
        watchers.push(
          fetchText(`${origin}/rm`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ n: 1, hostnames: [name] }),
            timeoutMs: 20_000,
          })
            .catch((error: Error) => ({ status: 0, text: error.message }))
            .then((reply) => {
              fault.rmStatus = reply.status;
              fault.rmMs = Date.now() - fault.at;
              if (reply.status !== 200)
                fault.note = `/rm answered ${reply.status}: ${reply.text.slice(0, 200)}`;
            }),
        );
        continue;
      }
      if (pid === undefined) {
        fault.note = 'process not found';
        continue;
      }
      try {
        process.kill(pid, kind);
      } catch (error) {
        fault.note = `could not signal pid ${pid}: ${(error as Error).message}`;
        continue;
      }
      if (kind === 'SIGSTOP') {
        stopped = { pid, number };
        everStopped = pid;
      }
      watchers.push(
        watchServing(origin, fault, end + 5000).then(() => {
          if (fault.servingAt !== undefined) fault.newPid = replicaPids(ringlb.pid).get(number);
          if (stopped?.pid === pid && processState(pid) !== 'T') stopped = undefined;
        }),
      );
    }
  })();

  await driver;
  await sleep(end - Date.now());
  await load.stop();
  await sampler;
  await Promise.all(watchers);
  let stoppedAtEnd = 'none was stopped';
  if (everStopped !== undefined) {
    const state = processState(everStopped);
    if (state === 'T') {
      process.kill(everStopped, 'SIGCONT');
      stoppedAtEnd = `pid ${everStopped} was still stopped at the end: sent SIGCONT`;
    } else {
      stoppedAtEnd = `pid ${everStopped} ${state === undefined || state === 'Z' ? 'was gone at the end (the balancer had killed it)' : `was in state ${state} at the end`}`;
    }
  }
  const lastReplicas = [...replicaPids(ringlb.pid).values()];
  const leftovers = await stopGroup(ringlb, 5000);
  const survivors = leftovers ? lastReplicas : [];

  for (const fault of faults) {
    fault.outAt = membership.firstChange(fault.name, false, fault.at);
    if (fault.outAt !== undefined) fault.backAt = membership.firstChange(fault.name, true, fault.outAt);
  }
  await writeReport(opts, {
    start,
    load,
    samples,
    timeline,
    idle,
    faults,
    membership,
    stoppedAtEnd,
    survivors,
    exitCode: await ringlb.exited,
  });
}

main().catch(async (error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  await stopAll();
  process.exit(1);
});
