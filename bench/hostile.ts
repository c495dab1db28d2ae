import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { flood, Slowloris, type FloodResult } from './hostile-attacks.js';
import { median, quantile } from './lib/stats.js';
import { parseWrk, type LoadResult } from './hostile-requests.js';

/**
 * `npm run bench:hostile`: normal load against `ringlb start --workers 1 --provider static`, measured
 * clean and then beside 1,000 slowloris connections and a flood of malformed requests, in one run;
 * RSS before and after 100,000 malformed requests, and how many of them reached a backend (must be
 * 0). Writes reports/hostile.md. Knobs: HOSTILE_SECONDS (per load phase, default 10), HOSTILE_MALFORMED
 * (default 100000), HOSTILE_SLOWLORIS (default 1000), HOSTILE_ROUNDS (clean/slowloris pairs, default 3).
 */
const SECONDS = Number(process.env.HOSTILE_SECONDS ?? 10);
const MALFORMED_TOTAL = Number(process.env.HOSTILE_MALFORMED ?? 100_000);
const SLOWLORIS = Number(process.env.HOSTILE_SLOWLORIS ?? 1_000);
const ROUNDS = Number(process.env.HOSTILE_ROUNDS ?? 3);
const LOAD_CONNECTIONS = 32;
const HEADERS_TIMEOUT_MS = 10_000;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RINGLB = `${ROOT}dist/cli/main.js`;
const BACKEND = `${ROOT}dist/bench/hostile-backend.js`;
const REPORT = `${ROOT}reports/hostile.md`;

const children: ChildProcess[] = [];
const cleanups: (() => void)[] = [];

/** Stops everything this run started: sockets first, then every process group. */
function cleanup(): void {
  for (const fn of cleanups.splice(0)) fn();
  for (const child of children.splice(0)) {
    try {
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    process.stderr.write(`\n${signal}: stopping\n`);
    cleanup();
    process.exit(130);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (text: string) => process.stderr.write(`${text}\n`);

/** CPU pinning on a machine with 2+ cores: the balancer alone on CPU 0, everything else on the rest. */
const CPUS = availableParallelism();
const BALANCER_CPU = CPUS >= 2 ? ['taskset', '-c', '0'] : [];
const OTHERS_CPU = CPUS >= 2 ? ['taskset', '-c', `1-${CPUS - 1}`] : [];

/** Starts a process in its own group and resolves with the first stdout line that `ready` accepts. */
function start<T>(argv: string[], ready: (line: string) => T | undefined, timeoutMs = 15_000) {
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise<{ child: ChildProcess; value: T }>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`${argv.join(' ')}: not ready in time`)), timeoutMs);
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const value = ready(line);
        if (value !== undefined) {
          clearTimeout(timer);
          resolve({ child, value });
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`${argv.join(' ')} exited with ${code}`)));
  });
}

function rssMb(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

/**
 * The lowest RSS over `ms` of quiet: a single reading swings by ±25 MB with where V8's collector is
 * (measured: 113-141 MB over 400,000 malformed requests, no trend), and V8 shrinks the heap once
 * allocation stops, so the low point is the memory actually held.
 */
async function settledRssMb(pid: number, ms: number): Promise<number> {
  let low = rssMb(pid);
  for (let waited = 0; waited < ms; waited += 250) {
    await sleep(250);
    low = Math.min(low, rssMb(pid));
  }
  return low;
}

/** The 1-minute load average: other work on the machine, which the ratios cannot cancel out. */
function loadAverage(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

function hasWrk(): boolean {
  return spawnSync('wrk', ['--version']).error === undefined;
}

/** One load phase with wrk (-t1, pinned beside the backends). */
async function wrkLoad(url: string, seconds: number): Promise<LoadResult> {
  const argv = [
    ...OTHERS_CPU,
    'wrk',
    '-t1',
    `-c${LOAD_CONNECTIONS}`,
    `-d${seconds}s`,
    '--timeout',
    '5s',
    '--latency',
    url,
  ];
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const limit = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), (seconds + 15) * 1000);
  await new Promise((resolve) => child.once('exit', resolve));
  clearTimeout(limit);
  return parseWrk(output);
}

/** One load phase from this process: `LOAD_CONNECTIONS` request loops over an undici pool. */
async function undiciLoad(url: string, seconds: number): Promise<LoadResult> {
  const pool = new Pool(new URL(url).origin, { connections: LOAD_CONNECTIONS, pipelining: 1 });
  const path = new URL(url).pathname;
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  const loop = async () => {
    while (performance.now() < end) {
      const t = performance.now();
      try {
        const response = await pool.request({
          path,
          method: 'GET',
          headersTimeout: 5_000,
          bodyTimeout: 5_000,
        });
        await response.body.dump();
        if (response.statusCode !== 200) errors++;
        latencies.push(performance.now() - t);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: LOAD_CONNECTIONS }, loop));
  const elapsed = (performance.now() - started) / 1000;
  await pool.destroy();
  return { requestsPerSecond: latencies.length / elapsed, p99Ms: quantile(latencies, 0.99), errors };
}

async function backendStats(port: number): Promise<{ requests: number; malformed: number }> {
  const response = await fetch(`http://127.0.0.1:${port}/__stats`, { signal: AbortSignal.timeout(5_000) });
  return (await response.json()) as { requests: number; malformed: number };
}

const fmt = (value: number, digits = 0) =>
  Number.isFinite(value)
    ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : '–';

async function main(): Promise<void> {
  if (!existsSync(RINGLB) || !existsSync(BACKEND))
    throw new Error('run "npm run build" and build the bench first');
  const wrk = hasWrk();
  const load = wrk ? wrkLoad : undiciLoad;
  const loadName = wrk
    ? `wrk -t1 -c${LOAD_CONNECTIONS} (Debian's wrk)`
    : `undici loop, ${LOAD_CONNECTIONS} connections (wrk not found)`;
  log(`load generator: ${loadName}`);

  const backends = await start([...OTHERS_CPU, process.execPath, BACKEND, '2'], (line) =>
    line.startsWith('{"ports"') ? (JSON.parse(line) as { ports: number[] }).ports : undefined,
  );
  const ports = backends.value;
  const balancer = await start(
    [
      ...BALANCER_CPU,
      process.execPath,
      RINGLB,
      'start',
      '--workers',
      '1',
      '--provider',
      'static',
      '--backends',
      ports.map((p) => `http://127.0.0.1:${p}`).join(','),
      '--health-path',
      '/health',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--headers-timeout',
      String(HEADERS_TIMEOUT_MS),
    ],
    (line) => (line.includes('"ringlb listening"') ? (JSON.parse(line) as { port: number }).port : undefined),
  );
  const port = balancer.value;
  // With taskset in front, the balancer is taskset's child after exec: same pid.
  const pid = balancer.child.pid!;
  const url = `http://127.0.0.1:${port}/home`;
  log(`ringlb on port ${port} (pid ${pid}), backends on ${ports.join(', ')}`);

  const rssStart = rssMb(pid);
  log('warm-up');
  await load(url, 3);

  const clean: LoadResult[] = [];
  const attacked: LoadResult[] = [];
  let slowloris: Slowloris | undefined;
  const lifetimes: number[] = [];
  let unexpected = 0;
  const stopSlowloris = () => {
    if (!slowloris) return;
    lifetimes.push(...slowloris.lifetimes);
    unexpected += slowloris.unexpectedAnswers;
    slowloris.stop();
    slowloris = undefined;
  };
  cleanups.push(stopSlowloris);
  // Clean and attacked alternate, so that drift on a shared machine hits both alike.
  const loadBefore = loadAverage();
  for (let round = 1; round <= ROUNDS; round++) {
    log(`round ${round}: clean`);
    clean.push(await load(url, SECONDS));
    log(`round ${round}: beside ${SLOWLORIS} slowloris connections`);
    slowloris = new Slowloris(port, SLOWLORIS);
    // All of them established first: SYNs dropped from a full accept queue come back 1-3 s later and
    // would crowd out the load generator's own connects.
    const open = await slowloris.established(10_000);
    await sleep(500);
    attacked.push(await load(url, SECONDS));
    log(`  ${open} slowloris connections were established when the load started`);
    // Over a phase shorter than the headers timeout, let the first batch be closed once, to measure.
    if (round === ROUNDS) await sleep(Math.max(0, HEADERS_TIMEOUT_MS + 3_000 - (SECONDS + 1) * 1000));
    stopSlowloris();
    await sleep(500);
  }

  const rssBeforeFlood = await settledRssMb(pid, 10_000);
  log('slowloris and a flood of malformed requests, beside the load');
  const floodResult: FloodResult = { sent: 0, answers: {} };
  slowloris = new Slowloris(port, SLOWLORIS);
  await slowloris.established(10_000);
  await sleep(500);
  let loadDone = false;
  const [both] = await Promise.all([
    load(url, SECONDS).finally(() => (loadDone = true)),
    flood(port, MALFORMED_TOTAL, {
      concurrency: 16,
      maxMs: (SECONDS + 5) * 1000,
      until: () => loadDone,
      result: floodResult,
    }),
  ]);
  stopSlowloris();
  log(`  ${floodResult.sent} malformed requests during the load; now the rest of ${MALFORMED_TOTAL}`);
  // In steps, with RSS after each: a leak grows step after step, the collector's swings do not.
  const trend: number[] = [];
  for (let step = 1; floodResult.sent < MALFORMED_TOTAL && step <= 100; step++) {
    const target = Math.min(MALFORMED_TOTAL, Math.ceil(floodResult.sent / 20_000 + 0.001) * 20_000);
    await flood(port, target, { concurrency: 32, maxMs: 120_000, result: floodResult });
    trend.push(rssMb(pid));
  }
  const rssAfterPeak = rssMb(pid);
  const rssAfterFlood = await settledRssMb(pid, 10_000);
  const stats = await backendStats(ports[0]!);
  const afterCheck = await load(url, 3);
  const loadAfter = loadAverage();

  const cleanRps = median(clean.map((r) => r.requestsPerSecond));
  const cleanP99 = median(clean.map((r) => r.p99Ms));
  const attackedRps = median(attacked.map((r) => r.requestsPerSecond));
  const attackedP99 = median(attacked.map((r) => r.p99Ms));
  const row = (name: string, rps: number, p99: number, errors: number) =>
    `| ${name} | ${fmt(rps)} | ${fmt(p99, 2)} | ${fmt(rps / cleanRps, 2)} | ${fmt(p99 / cleanP99, 2)} | ${errors} |`;
  const sortedLifetimes = [...lifetimes].sort((a, b) => a - b);
  const report = `# Hostile clients: \`npm run bench:hostile\`

Run ${new Date().toISOString()} on ${CPUS} CPUs (Node ${process.version}). \`ringlb start --workers 1
--provider static\` with 2 backends (one Node process of plain HTTP servers), headers timeout
${HEADERS_TIMEOUT_MS / 1000} s.${CPUS >= 2 ? ' ringlb pinned to CPU 0; load generator, backends and attackers on the other CPUs.' : ''}
Load: ${loadName}, GET /home, ${SECONDS} s per phase; clean and slowloris phases alternate ${ROUNDS} times
(medians shown). Ratios are against the clean phases of the same run. Load average of the machine:
${loadBefore} before the rounds, ${loadAfter} at the end (more than ${CPUS} means other work shared the CPUs).

| phase | req/s | p99 ms | req/s ÷ clean | p99 ÷ clean | errors |
| --- | ---: | ---: | ---: | ---: | ---: |
${row(
  'clean',
  cleanRps,
  cleanP99,
  clean.reduce((s, r) => s + r.errors, 0),
)}
${row(
  `beside ${SLOWLORIS} slowloris connections`,
  attackedRps,
  attackedP99,
  attacked.reduce((s, r) => s + r.errors, 0),
)}
${row('beside slowloris + malformed flood', both.requestsPerSecond, both.p99Ms, both.errors)}
${row('clean, after everything', afterCheck.requestsPerSecond, afterCheck.p99Ms, afterCheck.errors)}

Each round, req/s and p99 ms, clean → beside slowloris: ${clean
    .map(
      (c, i) =>
        `${fmt(c.requestsPerSecond)} / ${fmt(c.p99Ms, 1)} → ${fmt(attacked[i]!.requestsPerSecond)} / ${fmt(attacked[i]!.p99Ms, 1)}`,
    )
    .join('; ')}.

Targets (edge issue): under slowloris, req/s ≥ 0.9 × clean and p99 ≤ 1.5 × clean. The flood row shares
the machine's CPUs with the attacker itself, so it shows cost, not a target.

| malformed requests | value |
| --- | ---: |
| sent, one per connection | ${floodResult.sent.toLocaleString('en-US')} |
| answers by status | ${Object.entries(floodResult.answers)
    .sort()
    .map(([status, n]) => `${status}: ${n.toLocaleString('en-US')}`)
    .join(', ')} |
| reached a backend (must be 0) | **${stats.malformed}** |
| ringlb RSS at start | ${fmt(rssStart, 1)} MB |
| ringlb RSS before the malformed requests (lowest over 10 s of quiet) | ${fmt(rssBeforeFlood, 1)} MB |
| ringlb RSS right after them | ${fmt(rssAfterPeak, 1)} MB |
| ringlb RSS after them (lowest over 10 s of quiet) | ${fmt(rssAfterFlood, 1)} MB |
| RSS growth (target ≤ 10 MB) | ${fmt(rssAfterFlood - rssBeforeFlood, 1)} MB |
| RSS after each step of 20,000 after the load phase (leak check) | ${trend.map((mb) => fmt(mb, 0)).join(', ')} MB |

Slowloris connections closed by ringlb: ${lifetimes.length.toLocaleString('en-US')}, after ${fmt(quantile(sortedLifetimes, 0.5) / 1000, 1)} s
(median) / ${fmt(quantile(sortedLifetimes, 0.99) / 1000, 1)} s (p99) with a ${HEADERS_TIMEOUT_MS / 1000} s headers timeout; answered with
anything but a 408: ${unexpected}.
`;
  mkdirSync(`${ROOT}reports`, { recursive: true });
  writeFileSync(REPORT, report);
  process.stdout.write(report);
  if (stats.malformed !== 0) process.exitCode = 1;
}

try {
  await main();
} catch (error) {
  log(`bench:hostile failed: ${(error as Error).stack ?? error}`);
  process.exitCode = 1;
} finally {
  cleanup();
}
