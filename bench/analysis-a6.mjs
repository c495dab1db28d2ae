// Analysis A-6: a cache tier behind ringlb. Cache replicas (`ringlb replica --cache`, child
// processes) in front of a small counting origin, a balancer (static provider, ketama, --hash-key uri)
// over three of them; the caches are warmed, then a fourth replica is added under load. Four runs:
// hand-off hints on or off (--handoff-window), slow start on or off (--slow-start). What is counted
// is what the origin itself was asked for after the /add.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { Pool } from 'undici';
import { startBalancer } from '../dist/cli/balancer.js';
import { configSchema } from '../dist/cli/config.js';
import { lineChartSvg } from '../dist/analysis/svg-chart.js';

const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

export const A6_STEPS = 4;

export function a6Parameters(quick) {
  return quick
    ? { keys: 800, rate: 300, clients: 32, beforeMs: 500, afterMs: 3000, slowStartS: 2, bucketMs: 250 }
    : { keys: 3000, rate: 300, clients: 32, beforeMs: 2000, afterMs: 14_000, slowStartS: 10, bucketMs: 500 };
}

/** The origin: every GET is a fetch, answered with a small JSON entry, its time noted. */
async function startOrigin() {
  const fetches = [];
  const server = createServer((req, res) => {
    fetches.push(performance.now());
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ item: req.url, value: 'x'.repeat(200) }));
  });
  server.keepAliveTimeout = 10_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    fetches,
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** `ringlb replica --cache` as a child process, resolved once it listens. */
async function startCacheReplica(origin) {
  const child = spawn(process.execPath, [MAIN, 'replica', '--cache', '--origin', origin], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout.on('data', (chunk) => {
      buffered += chunk.toString();
      const line = buffered.split('\n').find((l) => l.includes('"replica listening"'));
      if (line) resolve(JSON.parse(line).port);
    });
    child.once('exit', (code) => reject(new Error(`cache replica exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

/**
 * One run: warm three caches, add the fourth under load at `beforeMs`; what the origin and clients
 * saw. The runs share the origin and the replicas, each with keys of its own (`/item/<run>/<k>`), so
 * every run starts with nothing cached for its keys.
 */
async function run(P, { hints, slowStart }, { origin, replicas }, runId) {
  let lb;
  let pool;
  try {
    const config = configSchema.parse({
      port: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
      provider: 'static',
      backends: replicas.slice(0, 3).map((r) => r.url),
      healthPath: '/heartbeat',
      ring: 'ketama',
      hashKey: 'uri',
      handoffWindow: hints ? 60 : 0,
      slowStart: slowStart ? P.slowStartS : 0,
    });
    lb = await startBalancer(config, pino({ level: 'silent' }));
    pool = new Pool(`http://127.0.0.1:${lb.port}`, { connections: P.clients });
    const get = async (key) => {
      const res = await pool.request({ method: 'GET', path: `/item/${runId}/${key}` });
      await res.body.dump();
      return { status: res.statusCode, cache: res.headers['x-cache'] };
    };
    // Warm: every key once, so that each is cached at its owner.
    let next = 0;
    await Promise.all(
      Array.from({ length: P.clients }, async () => {
        while (next < P.keys) await get(next++);
      }),
    );
    const warmFetches = origin.fetches.length;
    let seed = 0x9e3779b9;
    const random = () => {
      seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
      return seed / 2 ** 32;
    };
    const t0 = performance.now();
    const addAt = t0 + P.beforeMs;
    const end = addAt + P.afterMs;
    const responses = [];
    let added;
    const adder = (async () => {
      await sleep(P.beforeMs);
      const res = await pool.request({
        method: 'POST',
        path: '/add',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ backends: [replicas[3].url], hostnames: ['cache-4'] }),
      });
      added = { status: res.statusCode, body: await res.body.json(), at: performance.now() };
    })();
    // Open loop at P.rate requests per second, so that every run asks for the same number of keys
    // whatever its latency (a closed loop on a busy machine would not).
    const inFlight = [];
    for (let sent = 0; ; sent++) {
      const due = t0 + (sent * 1000) / P.rate;
      if (due >= end) break;
      if (due > performance.now()) await sleep(due - performance.now());
      const key = Math.floor(random() * P.keys);
      inFlight.push(
        get(key).then(
          (reply) => responses.push({ t: performance.now(), ...reply }),
          () => responses.push({ t: performance.now(), status: 0 }),
        ),
      );
    }
    await Promise.all(inFlight);
    await adder;
    if (added.status !== 200)
      throw new Error(`A-6: /add answered ${added.status} ${JSON.stringify(added.body)}`);
    const since = (t) => (t - added.at) / 1000;
    const after = responses.filter((r) => r.t >= added.at);
    return {
      hints,
      slowStart,
      warmFetches,
      moved: added.body.moved,
      requestsAfter: after.length,
      failed: responses.filter((r) => r.status !== 200).length,
      originAfter: origin.fetches.filter((t) => t >= added.at).length,
      originBefore: origin.fetches.filter((t) => t >= t0 && t < added.at).length,
      peerAfter: after.filter((r) => r.cache === 'peer').length,
      fetchTimes: origin.fetches.filter((t) => t >= t0).map(since),
      startS: since(t0),
      endS: since(end),
    };
  } finally {
    await pool?.close();
    await lb?.close();
  }
}

/** Origin fetches per second in buckets of `bucketMs`, from `startS` to `endS` (seconds since /add). */
function rateSeries(times, startS, endS, bucketMs) {
  const width = bucketMs / 1000;
  const buckets = Math.ceil((endS - startS) / width);
  const counts = new Array(buckets).fill(0);
  for (const t of times) {
    const i = Math.floor((t - startS) / width);
    if (i >= 0 && i < buckets) counts[i]++;
  }
  return counts.map((c, i) => [startS + (i + 0.5) * width, c / width]);
}

/** Runs A-6 and returns its report section (markdown lines) and whether the 90 % target held. */
export async function analysisA6({ quick, progress, chart, table, f }) {
  const P = a6Parameters(quick);
  const variants = [
    { hints: false, slowStart: false, name: 'no hints' },
    { hints: true, slowStart: false, name: 'hints' },
    { hints: false, slowStart: true, name: `no hints, slow start ${P.slowStartS} s` },
    { hints: true, slowStart: true, name: `hints, slow start ${P.slowStartS} s` },
  ];
  const results = [];
  const origin = await startOrigin();
  const replicas = [];
  try {
    for (let i = 0; i < 4; i++) replicas.push(await startCacheReplica(origin.url));
    for (const [runId, variant] of variants.entries()) {
      results.push({ ...variant, ...(await run(P, variant, { origin, replicas }, runId)) });
      progress(`A-6 ${variant.name}`);
    }
  } finally {
    for (const r of replicas) r.child.kill('SIGKILL');
    origin.close();
  }
  const baseline = (slowStart) => results.find((r) => !r.hints && r.slowStart === slowStart).originAfter;
  const fall = (r) => (r.hints ? 1 - r.originAfter / Math.max(1, baseline(r.slowStart)) : undefined);
  const peak = (r) => Math.max(...rateSeries(r.fetchTimes, 0, r.endS, P.bucketMs).map(([, v]) => v));
  const md = [];
  md.push('## A-6: a cache tier behind ringlb', '');
  md.push(
    `Four cache replicas (\`ringlb replica --cache\`, each its own process) in front of one origin that counts what it is asked for; ringlb (static provider, ketama, \`--hash-key uri\`) over three of them. Each run starts with empty caches and warms them with every one of ${P.keys.toLocaleString()} keys once; then clients ask for uniformly random keys, ${P.rate} requests per second (open loop), and ${(P.beforeMs / 1000).toFixed(1)} s in, \`POST /add\` adds the fourth replica. The runs differ in \`--handoff-window 60\` (hints) and \`--slow-start ${P.slowStartS}\`. Counted: the origin's own fetches in the ${(P.afterMs / 1000).toFixed(1)} s after the /add. With hints, the new owner of a key that moved asks the previous owner first (\`x-cache: peer\`).`,
    '',
  );
  md.push(
    chart(
      'a6-origin-fetches.png',
      lineChartSvg({
        title: 'A-6: origin fetches per second around POST /add',
        xLabel: 'seconds since /add',
        yLabel: 'origin fetches per second',
        markers: [{ x: 0, label: '/add' }],
        series: results.map((r) => ({
          name: r.name,
          points: rateSeries(r.fetchTimes, r.startS, r.endS, P.bucketMs),
          dashed: r.hints,
        })),
      }),
    ),
    '',
  );
  md.push(
    table(
      [
        'run',
        'moved (reply)',
        'requests after /add',
        'origin fetches after /add',
        'peer fetches',
        'peak origin fetches/s',
        'fall vs no hints',
        'failed',
      ],
      results.map((r) => [
        r.name,
        f(r.moved, 3),
        String(r.requestsAfter),
        String(r.originAfter),
        String(r.peerAfter),
        f(peak(r), 0),
        r.hints ? `${f(fall(r) * 100, 1)} %` : '–',
        String(r.failed),
      ]),
    ),
    '',
  );
  const held = results.filter((r) => r.hints).every((r) => fall(r) >= 0.9);
  md.push(
    `Target: origin fetches after /add fall by at least 90 % with hints: **${held ? 'held' : 'missed'}** (${results
      .filter((r) => r.hints)
      .map((r) => `${r.name}: ${f(fall(r) * 100, 1)} %`)
      .join(
        ', ',
      )}). Without hints every moved key that is asked for costs one origin fetch; slow start spreads them over its window (a lower peak; and fewer within the run, as keys move later), and hints remove them. Origin fetches before the /add (warm caches): ${results.map((r) => r.originBefore).join(', ')}.`,
    '',
  );
  return { md, held };
}
