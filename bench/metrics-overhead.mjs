// What metrics cost: the same balancer with --metrics true and --metrics false, under the same wrk
// load in alternating runs, and how long a /metrics scrape takes under that load.
//   npm run bench:metrics [-- ROUNDS SECONDS]      (needs wrk: apt-get install -y wrk)
// Writes reports/metrics-overhead.json. Ratios are metrics-on / metrics-off from the same run.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROUNDS = Number(process.argv[2] ?? 6);
const SECONDS = Number(process.argv[3] ?? 5);
const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const REPORTS = fileURLToPath(new URL('../reports/', import.meta.url));
const TICK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
const LUA = join(tmpdir(), `ringlb-ids-${process.pid}.lua`);
// Varied ids so that every replica takes traffic.
writeFileSync(
  LUA,
  'local n = 0\nrequest = function()\n  n = n + 1\n  return wrk.format("GET", "/home", { ["x-request-id"] = tostring(n % 512) })\nend\n',
);

const started = [];
function stopAll() {
  for (const child of started) if (child.exitCode === null) child.kill('SIGTERM');
}
process.on('SIGINT', () => {
  stopAll();
  process.exit(130);
});

async function startBalancer(metrics) {
  const child = spawn(
    process.execPath,
    [
      MAIN,
      'start',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--metrics',
      String(metrics),
      '--log-format',
      'json',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  started.push(child);
  const port = await new Promise((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (chunk) => {
      text += chunk;
      const line = text.split('\n').find((l) => l.includes('"ringlb listening"'));
      if (line) resolve(JSON.parse(line).port);
    });
    child.once('exit', (code) => reject(new Error(`balancer exited with ${code}`)));
  });
  return { pid: child.pid, url: `http://127.0.0.1:${port}` };
}

function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK;
}

function wrk(url, seconds = SECONDS) {
  return new Promise((resolve) => {
    const child = spawn('wrk', ['-t1', '-c32', `-d${seconds}s`, '-s', LUA, `${url}/`]);
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.once('close', () =>
      resolve({
        requests: Number(/(\d+) requests in/.exec(out)[1]),
        rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]),
      }),
    );
  });
}

async function measure(balancer) {
  const before = cpuSeconds(balancer.pid);
  const run = await wrk(balancer.url);
  return { rps: run.rps, cpuUsPerRequest: ((cpuSeconds(balancer.pid) - before) / run.requests) * 1e6 };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
const round = (value, digits = 1) => Number(value.toFixed(digits));

/** In-process cost of recording one request (what the data path pays per request with metrics on). */
async function recordCost() {
  const { Metrics } = await import('../dist/ops/metrics.js');
  const { ClassicRing } = await import('../dist/ring/classic/classic-ring.js');
  const members = [1, 2, 3].map((number) => ({ number, name: `Server ${number}` }));
  const metrics = new Metrics({
    describe: () => members.map((m) => ({ ...m, state: 'healthy' })),
    table: { ring: new ClassicRing(members) },
  });
  const N = 3_000_000;
  const results = [];
  for (let round = 0; round < 3; round++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < N; i++) metrics.requestDone(members[i % 3].name, 200, 0.001 + (i % 100) * 1e-4);
    results.push(Number(process.hrtime.bigint() - t) / N);
  }
  return round(median(results));
}

try {
  const requestDoneNs = await recordCost();
  console.log(`requestDone: ${requestDoneNs} ns per call`);
  const on = await startBalancer(true);
  const off = await startBalancer(false);
  // Warm-up (JIT, connection pools) before anything is counted.
  await Promise.all([wrk(on.url, 2), wrk(off.url, 2)]);
  const runs = { on: [], off: [] };
  for (let i = 0; i < ROUNDS; i++) {
    for (const which of i % 2 === 0 ? ['on', 'off'] : ['off', 'on']) {
      const result = await measure(which === 'on' ? on : off);
      runs[which].push(result);
      console.log(
        `metrics ${which}: ${round(result.rps, 0)} req/s, ${round(result.cpuUsPerRequest)} µs CPU/request`,
      );
    }
  }
  // Scrapes while the metrics-on balancer is under the same load: at most 40, 250 ms apart.
  const load = wrk(on.url);
  const scrapes = [];
  await new Promise((resolve) => setTimeout(resolve, 500));
  for (let i = 0; i < 40 && scrapes.length < (SECONDS - 1) * 4; i++) {
    const t = performance.now();
    await (await fetch(`${on.url}/metrics`)).text();
    scrapes.push(performance.now() - t);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await load;
  const summary = {
    requestDoneNs,
    rounds: ROUNDS,
    seconds: SECONDS,
    reqPerSec: {
      on: round(median(runs.on.map((r) => r.rps)), 0),
      off: round(median(runs.off.map((r) => r.rps)), 0),
    },
    cpuUsPerRequest: {
      on: round(median(runs.on.map((r) => r.cpuUsPerRequest))),
      off: round(median(runs.off.map((r) => r.cpuUsPerRequest))),
    },
    scrapeMsUnderLoad: {
      n: scrapes.length,
      p50: round(median(scrapes)),
      p90: round([...scrapes].sort((a, b) => a - b)[Math.floor(scrapes.length * 0.9)]),
      max: round(Math.max(...scrapes)),
    },
  };
  summary.ratio = {
    reqPerSec: round(summary.reqPerSec.on / summary.reqPerSec.off, 3),
    cpuPerRequest: round(summary.cpuUsPerRequest.on / summary.cpuUsPerRequest.off, 3),
  };
  mkdirSync(REPORTS, { recursive: true });
  writeFileSync(join(REPORTS, 'metrics-overhead.json'), `${JSON.stringify(summary, null, 2)}\n`);
  console.log(JSON.stringify(summary, null, 2));
} finally {
  stopAll();
}
