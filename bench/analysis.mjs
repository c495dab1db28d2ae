// The seed's analysis A-1..A-4 and ours A-5 and A-6 (a cache tier, bench/analysis-a6.mjs), in one command, over the built dist:
//   npm run analysis              full run (10,000 requests per point, 1M keys in-process)
//   npm run analysis -- --quick   the same report with fewer requests and keys, about a minute (CI)
// Starts its own balancer with local replica processes on loopback, sends real HTTP traffic through
// it, switches algorithms live with PUT /ring, and writes reports/analysis.md with PNG charts beside
// it (SVG drawn by dist/analysis/svg-chart.js, rasterised by resvg: no browser).
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Resvg } from '@resvg/resvg-js';
import { pino } from 'pino';
import { Pool } from 'undici';
import { startBalancer } from '../dist/cli/balancer.js';
import { configSchema } from '../dist/cli/config.js';
import { xxh32Int } from '../dist/core/xxhash32.js';
import {
  keyCounts,
  loadStats,
  movedOnJoin,
  movedOnLeave,
  randomKeys,
  serverMembers,
  sixDigitIds,
  SlotRing,
} from '../dist/analysis/ring-study.js';
import { barChartSvg, lineChartSvg } from '../dist/analysis/svg-chart.js';
import { A6_STEPS, analysisA6 } from './analysis-a6.mjs';
import { timeline } from '../dist/analysis/timeline.js';
import { simulateLoad } from '../dist/ring/bounded/load-simulation.js';
import { BoundedLoadRing } from '../dist/ring/bounded/bounded-load-ring.js';
import { ClassicRing } from '../dist/ring/classic/classic-ring.js';
import { KetamaRing } from '../dist/ring/ketama/ketama-ring.js';
import { MaglevRing } from '../dist/ring/maglev/maglev-ring.js';
import { RendezvousRing } from '../dist/ring/rendezvous/rendezvous-ring.js';

const QUICK = process.argv.includes('--quick');
const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'reports');
const P = QUICK
  ? {
      requests: 1000,
      a2Requests: 500,
      keys: 100_000,
      movedKeys: 1 << 15,
      a3Ms: 4000,
      largeN: [3, 4, 6, 8, 16, 32, 64],
      a5N: [2, 3, 4, 6, 8, 16, 32, 64],
    }
  : {
      requests: 10_000,
      a2Requests: 10_000,
      keys: 1_000_000,
      movedKeys: 1 << 18,
      a3Ms: 9000,
      largeN: [3, 4, 5, 6, 8, 10, 12, 16, 24, 32, 48, 64],
      a5N: Array.from({ length: 63 }, (_, k) => k + 2),
    };
const ALGORITHMS = ['classic', 'ketama', 'maglev', 'rendezvous'];
const BUILD = {
  classic: (m) => new ClassicRing(m),
  ketama: (m) => new KetamaRing(m),
  maglev: (m) => new MaglevRing(m),
  rendezvous: (m) => new RendezvousRing(m),
};
const CLASSIC_CAPACITY = 56;

// ---------- progress ----------
const STEPS = {
  a1: ALGORITHMS.length,
  a2: 5 * ALGORITHMS.length,
  large: ALGORITHMS.length + 1,
  a3: 2,
  a4: 1,
  a5: ALGORITHMS.length,
  bounded: 1,
  a6: A6_STEPS,
  charts: 1,
};
const TOTAL = Object.values(STEPS).reduce((a, b) => a + b, 0);
let done = 0;
const started = Date.now();
function progress(label) {
  done++;
  const width = 30;
  const filled = Math.round((done / TOTAL) * width);
  const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round((done / TOTAL) * 100)).padStart(3)}% ${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s ${label}`;
  if (process.stderr.isTTY) process.stderr.write(`\r${line.padEnd(100)}${done === TOTAL ? '\n' : ''}`);
  else process.stderr.write(`${line}\n`);
}

// ---------- HTTP ----------
let lb;
let pool;
async function control(method, path, body) {
  const res = await pool.request({
    method,
    path,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.body.json();
  if (res.statusCode !== 200)
    throw new Error(`${method} ${path} → ${res.statusCode} ${JSON.stringify(json)}`);
  return json;
}

/** One GET /home with the given id; resolves with the replica that answered, or undefined. */
async function home(id) {
  try {
    const res = await pool.request({
      method: 'GET',
      path: '/home',
      headers: id === undefined ? {} : { 'x-request-id': String(id) },
    });
    const body = await res.body.json();
    if (res.statusCode !== 200) return undefined;
    return `Server ${/Server: (\d+)/.exec(body.message)?.[1]}`;
  } catch {
    return undefined;
  }
}

/** All requests at once (the seed's "10,000 asynchronous requests"); counts per replica. */
async function burst(ids) {
  const answers = await Promise.all(ids.map((id) => home(id)));
  const counts = new Map();
  let failed = 0;
  for (const replica of answers) {
    if (replica === undefined) failed++;
    else counts.set(replica, (counts.get(replica) ?? 0) + 1);
  }
  return { counts, failed };
}

async function setReplicas(n) {
  let names = (await control('GET', '/rep')).message.replicas;
  if (names.length < n) await control('POST', '/add', { n: n - names.length });
  names = (await control('GET', '/rep')).message.replicas;
  if (names.length > n) {
    const byNumber = lb.cluster.describe().sort((a, b) => b.number - a.number);
    await control('POST', '/rm', {
      n: names.length - n,
      hostnames: byNumber.slice(0, names.length - n).map((r) => r.name),
    });
  }
}

function serverNames(n) {
  return serverMembers(n).map((m) => m.name);
}

// ---------- report helpers ----------
const charts = [];
function chart(file, svg) {
  charts.push({ file, svg });
  return `![${file}](${file})`;
}
const f = (x, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '–');
const table = (head, rows) =>
  [
    `| ${head.join(' | ')} |`,
    `| ${head.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');

/**
 * Closed-loop load with 32 clients for P.a3Ms; a third of the way in, `signal` goes to `victim`.
 * Watches the victim's state in the cluster to time detection and replacement.
 */
async function faultUnderLoad(signal, victim) {
  const outcomes = [];
  const t0 = Date.now();
  const faultAfter = Math.round(P.a3Ms / 3);
  let faultAt;
  let downAt;
  let backAt;
  const stateOf = () => lb.cluster.describe().find((r) => r.name === victim)?.state;
  const watcher = (async () => {
    while (Date.now() - t0 < P.a3Ms) {
      if (faultAt === undefined && Date.now() - t0 >= faultAfter) {
        process.kill(lb.provider.pidOf(victim), signal);
        faultAt = Date.now() - t0;
      }
      const state = stateOf();
      if (faultAt !== undefined && downAt === undefined && state !== 'healthy') downAt = Date.now() - t0;
      if (downAt !== undefined && backAt === undefined && state === 'healthy') backAt = Date.now() - t0;
      await sleep(2);
    }
  })();
  const ids = sixDigitIds(1_000_000, 4);
  let next = 0;
  const workers = Array.from({ length: 32 }, async () => {
    while (Date.now() - t0 < P.a3Ms) {
      const sent = Date.now();
      const replica = await home(ids[next++ % ids.length]);
      outcomes.push({ t: Date.now() - t0, ms: Date.now() - sent, replica, ok: replica !== undefined });
    }
  });
  await Promise.all([watcher, ...workers]);
  // Let a replacement still under way finish before the next scenario.
  for (let wait = 0; wait < 100 && stateOf() !== 'healthy'; wait++) await sleep(50);
  return { outcomes, faultAt, downAt, backAt };
}

async function main() {
  mkdirSync(OUT, { recursive: true });
  const config = configSchema.parse({ port: 0, host: '127.0.0.1', logLevel: 'silent', replicas: 3 });
  lb = await startBalancer(config, pino({ level: 'silent' }));
  pool = new Pool(`http://127.0.0.1:${lb.port}`, { connections: 64 });
  const md = [];
  md.push(`# ringlb analysis${QUICK ? ' (quick mode)' : ''}`, '');
  md.push(
    `Generated ${new Date().toISOString()} by \`npm run analysis${QUICK ? ' -- --quick' : ''}\` on node ${process.version}: a balancer with local replica processes on loopback, real HTTP requests through it (GET /home with an \`x-request-id\` of a random 6-digit id, the seed's client), algorithms switched live with \`PUT /ring\`. In-process parts run the same ring code over ${P.keys.toLocaleString()} random keys.`,
    '',
  );

  // ---------- A-1 ----------
  const ids = sixDigitIds(P.requests, 1);
  const a1 = {};
  for (const algorithm of ALGORITHMS) {
    await control('PUT', '/ring', { algorithm });
    a1[algorithm] = await burst(ids);
    progress(`A-1 ${algorithm}`);
  }
  const names3 = serverNames(3);
  md.push('## A-1: requests per replica, N = 3', '');
  md.push(`${P.requests.toLocaleString()} concurrent requests per algorithm, the same ids each time.`, '');
  md.push(
    chart(
      'a1-requests-per-replica.png',
      barChartSvg({
        title: `A-1: ${P.requests.toLocaleString()} requests over 3 replicas`,
        yLabel: 'requests',
        categories: names3,
        series: ALGORITHMS.map((a) => ({ name: a, values: names3.map((n) => a1[a].counts.get(n) ?? 0) })),
      }),
    ),
    '',
  );
  md.push(
    table(
      ['algorithm', ...names3, 'failed', 'max / mean'],
      ALGORITHMS.map((a) => {
        const counts = names3.map((n) => a1[a].counts.get(n) ?? 0);
        return [a, ...counts.map(String), String(a1[a].failed), f(loadStats(counts).maxOverMean)];
      }),
    ),
    '',
  );

  // ---------- A-2 (HTTP, N = 2..6) ----------
  const a2 = Object.fromEntries(ALGORITHMS.map((a) => [a, []]));
  const liveMoves = [];
  const a2ids = sixDigitIds(P.a2Requests, 2);
  // maglev last, so the /add replies' measured moves are maglev's (checked against A-5 below).
  const order = ['classic', 'rendezvous', 'ketama', 'maglev'];
  await setReplicas(2);
  for (let n = 2; n <= 6; n++) {
    for (const algorithm of order) {
      await control('PUT', '/ring', { algorithm });
      const { counts, failed } = await burst(a2ids);
      const values = serverNames(n).map((name) => counts.get(name) ?? 0);
      a2[algorithm].push({ n, stats: loadStats(values), failed });
      progress(`A-2 N=${n} ${algorithm}`);
    }
    if (n < 6) {
      const reply = await control('POST', '/add', { n: 1 });
      liveMoves.push({ n, moved: reply.moved });
    }
  }
  md.push('## A-2: load per replica as N grows', '');
  md.push(
    `N from 2 to 6 (replicas added live with \`POST /add\`), ${P.a2Requests.toLocaleString()} requests per point. Mean load per replica is requests / N for every algorithm; the spread (standard deviation across replicas, and max / mean) is what differs.`,
    '',
  );
  md.push(
    chart(
      'a2-spread.png',
      lineChartSvg({
        title: 'A-2: spread of load per replica (stddev / mean)',
        xLabel: 'replicas (N)',
        yLabel: 'coefficient of variation',
        series: ALGORITHMS.map((a) => ({ name: a, points: a2[a].map((p) => [p.n, p.stats.cv]) })),
      }),
    ),
    '',
  );
  md.push(
    chart(
      'a2-mean-max.png',
      lineChartSvg({
        title: 'A-2: mean and busiest replica load',
        xLabel: 'replicas (N)',
        yLabel: 'requests',
        series: [
          { name: 'mean (all)', points: a2.maglev.map((p) => [p.n, p.stats.mean]), dashed: true },
          ...ALGORITHMS.map((a) => ({ name: `max, ${a}`, points: a2[a].map((p) => [p.n, p.stats.max]) })),
        ],
      }),
    ),
    '',
  );
  md.push(
    table(
      ['algorithm', ...[2, 3, 4, 5, 6].map((n) => `N=${n} max/mean (cv)`)],
      ALGORITHMS.map((a) => [a, ...a2[a].map((p) => `${f(p.stats.maxOverMean)} (${f(p.stats.cv)})`)]),
    ),
    '',
  );

  // ---------- A-2 at large N (in-process) ----------
  const keys = randomKeys(P.keys, 3);
  const large = {};
  const variants = [
    ...ALGORITHMS.map((a) => [a, BUILD[a]]),
    ['ketama, 1000 points', (m) => new KetamaRing(m, { points: 1000 })],
  ];
  for (const [name, build] of variants) {
    large[name] = P.largeN
      .filter((n) => !(name === 'classic' && n > CLASSIC_CAPACITY))
      .map((n) => {
        const ring = build(serverMembers(n));
        return {
          n,
          stats: loadStats(keyCounts(ring, keys)),
          tableMaxOverMean: Math.max(...ring.shares()) * n,
        };
      });
    progress(`A-2 large N ${name}`);
  }
  md.push(`### A-2 at large N: imbalance over ${P.keys.toLocaleString()} random keys (in-process)`, '');
  md.push(
    'max / mean keys per replica. Targets: maglev ≤ 1.02, ketama (160 points) ≤ 1.10 for N = 3..64. The "ring" column is the same ratio computed from `shares()` (the key space each replica owns), free of key-sampling noise.',
    '',
  );
  md.push(
    chart(
      'a2-imbalance-large-n.png',
      lineChartSvg({
        title: `Imbalance (max / mean) over ${P.keys.toLocaleString()} keys`,
        xLabel: 'replicas (N)',
        yLabel: 'max / mean',
        yMin: 1,
        series: Object.entries(large)
          .filter(([name]) => name !== 'classic')
          .map(([name, rows]) => ({ name, points: rows.map((r) => [r.n, r.stats.maxOverMean]) })),
      }),
    ),
    '',
  );
  md.push(
    table(
      ['N', ...Object.keys(large).map((name) => `${name}: keys (ring)`)],
      P.largeN.map((n) => [
        String(n),
        ...Object.values(large).map((rows) => {
          const row = rows.find((r) => r.n === n);
          return row ? `${f(row.stats.maxOverMean)} (${f(row.tableMaxOverMean)})` : '–';
        }),
      ]),
    ),
    '',
  );

  // ---------- A-3 ----------
  await setReplicas(3);
  await control('PUT', '/ring', { algorithm: 'ketama' });
  md.push('## A-3: a replica killed under load', '');
  md.push(
    `ketama, N = 3, 32 concurrent clients sending GET /home with random ids for ${(P.a3Ms / 1000).toFixed(0)} s. Twice: a replica killed (SIGKILL: its process exits), then a replica hung (SIGSTOP: it stops answering but its process lives on, so only heartbeats can tell, every 500 ms with a 500 ms timeout, 2 misses).`,
    '',
  );
  for (const [signal, victim, what, file] of [
    ['SIGKILL', 'Server 2', 'killed', 'a3-timeline.png'],
    ['SIGSTOP', 'Server 3', 'hung', 'a3-hung-timeline.png'],
  ]) {
    const run = await faultUnderLoad(signal, victim);
    progress(`A-3 ${what} replica under load`);
    const line = timeline(run.outcomes, 250, P.a3Ms);
    const latencies = run.outcomes.map((o) => o.ms).sort((a, b) => a - b);
    const markers = [{ x: run.faultAt / 1000, label: what }];
    if (run.backAt !== undefined) markers.push({ x: run.backAt / 1000, label: 'replaced' });
    md.push(`### ${victim} ${what} (${signal}) at ${(run.faultAt / 1000).toFixed(2)} s`, '');
    md.push(
      table(
        ['measure', 'value'],
        [
          ['requests', String(run.outcomes.length)],
          ['failed requests', String(run.outcomes.filter((o) => !o.ok).length)],
          [
            'detection (fault → out of the ring)',
            run.downAt === undefined ? 'not seen' : `${run.downAt - run.faultAt} ms`,
          ],
          [
            'replacement (fault → back in the ring)',
            run.backAt === undefined ? 'not within the run' : `${run.backAt - run.faultAt} ms`,
          ],
          [
            'latency p50 / p99 / max',
            `${latencies[Math.floor(latencies.length * 0.5)]} / ${latencies[Math.floor(latencies.length * 0.99)]} / ${latencies[latencies.length - 1]} ms`,
          ],
        ],
      ),
      '',
    );
    md.push(
      chart(
        file,
        lineChartSvg({
          title: `A-3: requests per second per replica, ${victim} ${what}`,
          xLabel: 'seconds',
          yLabel: 'requests per second',
          markers,
          series: [
            ...[...line.perReplica].map(([name, values]) => ({
              name,
              points: values.map((v, i) => [line.seconds[i], v]),
            })),
            { name: 'failed', points: line.failed.map((v, i) => [line.seconds[i], v]), dashed: true },
          ],
        }),
      ),
      '',
    );
  }
  md.push(
    'A killed replica is noticed by its process exit at once; a hung one after the heartbeat misses. Requests that found the replica gone were retried on the next replica of the ring (idempotent GETs), and requests stuck on the hung replica were retried when its replacement stopped it, which is what the latency maximum shows.',
    '',
  );

  // ---------- A-4 ----------
  const members3 = serverMembers(3);
  const a4rows = [
    [
      'classic: seed ring, H(i) = i² + 2i + 17, Φ(i, j) = i² + j² + 2j + 25',
      new ClassicRing(members3),
      'classic',
    ],
    [
      'seed ring (512 slots, 9 vnodes, probing) with xxHash32 for H and Φ',
      new SlotRing(
        members3,
        512,
        9,
        (id) => xxh32Int(id) % 512,
        (i, j) => xxh32Int(j, xxh32Int(i)) % 512,
      ),
      undefined,
    ],
    ['ketama: xxHash32, 160 points per replica', new KetamaRing(members3), 'ketama'],
    ['maglev: xxHash32 offset/skip, 65537 entries', new MaglevRing(members3), 'maglev'],
    ['rendezvous: xxHash32 + MurmurHash3 finaliser', new RendezvousRing(members3), 'rendezvous'],
  ];
  const seedIds = sixDigitIds(P.keys, 5);
  const a4 = a4rows.map(([name, ring, http]) => {
    const ids6 = loadStats(keyCounts(ring, seedIds));
    const wide = loadStats(keyCounts(ring, keys));
    const live = http ? loadStats(names3.map((n) => a1[http].counts.get(n) ?? 0)) : undefined;
    return { name, ids6, wide, live };
  });
  progress('A-4 hash functions');
  md.push('## A-4: the seed’s hash functions against the alternatives (N = 3)', '');
  md.push(
    `Same traffic: the A-1 requests (HTTP), and in-process ${P.keys.toLocaleString()} random 6-digit ids (the seed's ids) and ${P.keys.toLocaleString()} random keys below 2^40. max / mean, cv in brackets.`,
    '',
  );
  md.push(
    table(
      ['hash / ring', 'A-1 HTTP', '6-digit ids', 'random keys'],
      a4.map((r) => [
        r.name,
        r.live ? `${f(r.live.maxOverMean)} (${f(r.live.cv)})` : '–',
        `${f(r.ids6.maxOverMean)} (${f(r.ids6.cv)})`,
        `${f(r.wide.maxOverMean)} (${f(r.wide.cv)})`,
      ]),
    ),
    '',
  );
  md.push(
    chart(
      'a4-hash-functions.png',
      barChartSvg({
        title: 'A-4: max / mean load at N = 3 (1 is perfect)',
        yLabel: 'max / mean',
        categories: ['seed H, Φ', 'seed ring + xxHash32', 'ketama', 'maglev', 'rendezvous'],
        series: [
          { name: '6-digit ids', values: a4.map((r) => r.ids6.maxOverMean) },
          { name: 'random keys', values: a4.map((r) => r.wide.maxOverMean) },
        ],
      }),
    ),
    '',
  );

  // ---------- A-5 ----------
  const a5 = {};
  for (const algorithm of ALGORITHMS) {
    a5[algorithm] = P.a5N
      .filter((n) => !(algorithm === 'classic' && n + 1 > CLASSIC_CAPACITY))
      .map((n) => ({
        n,
        join: movedOnJoin(BUILD[algorithm], n, P.movedKeys),
        leave: movedOnLeave(BUILD[algorithm], n, P.movedKeys),
      }));
    progress(`A-5 ${algorithm}`);
  }
  md.push('## A-5: keys moved when one replica joins or leaves', '');
  md.push(
    `Measured on the rings over ${P.movedKeys.toLocaleString()} keys (the same measure the balancer reports in \`moved\`). Join: N → N+1, ideal 1/(N+1). Leave: the middle replica of N, ideal 1/N. Charts show moved ÷ ideal (1 = only the joining or leaving replica's keys move).`,
    '',
  );
  const ratioSeries = (kind, ideal) =>
    ALGORITHMS.map((a) => ({ name: a, points: a5[a].map((r) => [r.n, r[kind] / ideal(r.n)]) })).concat([
      { name: 'ideal', points: P.a5N.map((n) => [n, 1]), dashed: true },
    ]);
  md.push(
    chart(
      'a5-moved-join.png',
      lineChartSvg({
        title: 'A-5: keys moved when a replica joins ÷ 1/(N+1)',
        xLabel: 'replicas before the join (N)',
        yLabel: 'moved ÷ ideal',
        series: ratioSeries('join', (n) => 1 / (n + 1)),
      }),
    ),
    '',
  );
  md.push(
    chart(
      'a5-moved-leave.png',
      lineChartSvg({
        title: 'A-5: keys moved when a replica leaves ÷ 1/N',
        xLabel: 'replicas before the leave (N)',
        yLabel: 'moved ÷ ideal',
        series: ratioSeries('leave', (n) => 1 / n),
      }),
    ),
    '',
  );
  const shownN = P.a5N.filter((n) => [2, 3, 4, 5, 8, 16, 32, 48, 63, 64].includes(n));
  md.push(
    table(
      [
        'N',
        'ideal join 1/(N+1)',
        ...ALGORITHMS.map((a) => `${a} join (÷ ideal)`),
        'maglev leave (÷ 1/N)',
        'ketama leave (÷ 1/N)',
      ],
      shownN.map((n) => {
        const cell = (a, kind, ideal) => {
          const row = a5[a].find((r) => r.n === n);
          return row ? `${f(row[kind], 4)} (${f(row[kind] / ideal, 2)})` : '–';
        };
        return [
          String(n),
          f(1 / (n + 1), 4),
          ...ALGORITHMS.map((a) => cell(a, 'join', 1 / (n + 1))),
          cell('maglev', 'leave', 1 / n),
          cell('ketama', 'leave', 1 / n),
        ];
      }),
    ),
    '',
  );
  const summary = (a, kind, ideal) => {
    const ratios = a5[a].map((r) => r[kind] / ideal(r.n));
    return `${f(ratios.reduce((x, y) => x + y, 0) / ratios.length, 3)} mean, ${f(Math.max(...ratios), 3)} max`;
  };
  md.push(
    table(
      ['algorithm', 'join: moved ÷ 1/(N+1)', 'leave: moved ÷ 1/N'],
      ALGORITHMS.map((a) => [a, summary(a, 'join', (n) => 1 / (n + 1)), summary(a, 'leave', (n) => 1 / n)]),
    ),
    '',
  );
  md.push(
    'Live check: the `moved` field of the `POST /add` replies during A-2 (maglev was the active ring, measured over 65,536 keys by the balancer itself):',
    '',
  );
  md.push(
    table(
      ['join', 'moved (reply)', 'in-process maglev', 'ideal'],
      liveMoves.map(({ n, moved }) => [
        `${n} → ${n + 1}`,
        f(moved, 4),
        f(movedOnJoin(BUILD.maglev, n, 1 << 16), 4),
        f(1 / (n + 1), 4),
      ]),
    ),
    '',
  );

  // ---------- bounded loads ----------
  const boundedRows = [];
  for (const [name, build] of [
    ['ketama', BUILD.ketama],
    ['maglev', BUILD.maglev],
  ]) {
    for (const [n, inFlight] of [
      [8, 64],
      [20, 200],
    ]) {
      for (const factor of [100, 1.25]) {
        const loads = new Int32Array(n);
        const inner = build(serverMembers(n));
        const ring = new BoundedLoadRing(inner, loads, factor);
        const result = simulateLoad(ring, inner, loads, {
          arrivals: QUICK ? 20_000 : 200_000,
          inFlight,
          hotShare: 0.5,
          boundFactor: 1.25,
        });
        boundedRows.push([
          name,
          String(n),
          String(inFlight),
          factor === 100 ? 'off' : String(factor),
          f(result.worstMaxOverMean, 2),
          result.worstExcess <= 0
            ? `held (worst ${result.worstExcess})`
            : `exceeded by ${result.worstExcess}`,
          f(result.hotOnOwnerShare, 2),
        ]);
      }
    }
  }
  progress('bounded loads');
  md.push('## Bounded loads under a hot key', '');
  md.push(
    'In-process simulation: one key takes 50 % of the requests, a random outstanding request finishes whenever the in-flight count is reached. Target: no replica above ceil(1.25 × mean) + 1 in flight.',
    '',
  );
  md.push(
    table(
      [
        'ring',
        'N',
        'in flight',
        'balance factor',
        'worst max / mean',
        'ceil(1.25 × mean) + 1',
        'hot key on its own replica',
      ],
      boundedRows,
    ),
    '',
  );

  // ---------- A-6 ----------
  md.push(...(await analysisA6({ quick: QUICK, progress, chart, table, f })).md);

  // ---------- charts ----------
  for (const { file, svg } of charts) {
    writeFileSync(join(OUT, file.replace(/\.png$/, '.svg')), svg);
    const png = new Resvg(svg, {
      font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
      background: '#ffffff',
    })
      .render()
      .asPng();
    writeFileSync(join(OUT, file), png);
  }
  progress('charts');
  md.push(`---`, `Took ${((Date.now() - started) / 1000).toFixed(1)} s.`, '');
  writeFileSync(join(OUT, 'analysis.md'), md.join('\n'));
  for (const { file } of charts) {
    if (statSync(join(OUT, file)).size < 1000) throw new Error(`chart ${file} is empty`);
  }
  console.log(
    `wrote ${join(OUT, 'analysis.md')} and ${charts.length} charts in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

try {
  await main();
} finally {
  await pool?.close();
  await lb?.close();
}
