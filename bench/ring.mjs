// Micro-benchmark of `pick` per ring algorithm (ns per pick, bytes allocated per pick) at several
// replica counts, and rebuild time for 10, 100 and 1000 replicas. Runs over the built dist:
//   npm run bench:ring
// Each case runs in a child process of its own (node --expose-gc), so V8's type feedback from one
// ring class never slows another and heap deltas belong to that case alone. Times are reported as
// ratios to a reference measured in the same child: one xxHash32 of the key and an array read.
// The machine is shared: absolute ns swing with its load, the ratios much less.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { xxh32Int } from '../dist/core/xxhash32.js';
import { ringFactory, RING_DEFAULTS } from '../dist/ring/registry.js';

const ROUND_SECONDS = 0.15;
const ROUNDS = 9;
const ALGORITHMS = {
  classic: { algorithm: 'classic' },
  ketama: { algorithm: 'ketama' },
  maglev: { algorithm: 'maglev' },
  rendezvous: { algorithm: 'rendezvous' },
  'ketama + bounded 1.25': { algorithm: 'ketama', balanceFactor: 1.25 },
  'maglev + bounded 1.25': { algorithm: 'maglev', balanceFactor: 1.25 },
};
const SIZES = [3, 10, 64, 1000];

const members = (n) => Array.from({ length: n }, (_, k) => ({ number: k + 1, name: `Server ${k + 1}` }));

/** Keys as the data path gives them: 6-digit request ids and 32-bit string hashes, half each. */
function benchKeys() {
  const keys = new Float64Array(1 << 16);
  let state = 12345;
  for (let i = 0; i < keys.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    keys[i] = i % 2 ? 100_000 + (state % 900_000) : state;
  }
  return keys;
}

/** A fresh timing loop per measurement, so each loop's call site sees one class only. */
function freshLoop() {
  return new Function(
    'target',
    'keys',
    'count',
    'attempt',
    'let sink = 0; for (let i = 0; i < count; i++) sink += target.pick(keys[i & 65535], attempt); return sink;',
  );
}

/**
 * ns per call of `target.pick(key, attempt)` and of the reference, measured in alternating rounds so
 * that both see the same machine load; medians of ROUNDS, ratio as the median of per-round ratios.
 * Bytes per call: the smallest heap growth over a round (tiering can allocate in the first ones).
 */
function measure(target, reference, keys, attempt) {
  const loop = freshLoop();
  const referenceLoop = freshLoop();
  // Warm up for a second, not a count (the bounded rings' tiering keeps allocating for a while), then
  // size the rounds: ~ROUND_SECONDS each, 50k..2M picks.
  let sink = referenceLoop(reference, keys, 1_000_000, 0);
  const warmUntil = Date.now() + 1000;
  while (Date.now() < warmUntil) sink += loop(target, keys, 20_000, attempt);
  let start = process.hrtime.bigint();
  sink += loop(target, keys, 100_000, attempt);
  const warmNs = Number(process.hrtime.bigint() - start) / 100_000;
  const picks = Math.max(50_000, Math.min(2_000_000, Math.round((ROUND_SECONDS * 1e9) / warmNs)));
  sink += loop(target, keys, 2 * picks, attempt);
  const times = [];
  const referenceTimes = [];
  const ratios = [];
  let bytes = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    start = process.hrtime.bigint();
    sink += referenceLoop(reference, keys, picks, 0);
    const referenceNs = Number(process.hrtime.bigint() - start) / picks;
    globalThis.gc();
    const heapBefore = process.memoryUsage().heapUsed;
    start = process.hrtime.bigint();
    sink += loop(target, keys, picks, attempt);
    const ns = Number(process.hrtime.bigint() - start) / picks;
    bytes = Math.min(bytes, (process.memoryUsage().heapUsed - heapBefore) / picks);
    times.push(ns);
    referenceTimes.push(referenceNs);
    ratios.push(ns / referenceNs);
  }
  if (sink === 0.5) console.log('unreachable');
  const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
  return {
    ns: median(times),
    referenceNs: median(referenceTimes),
    ratio: median(ratios),
    bytes: Math.max(0, bytes),
  };
}

/** One case, in this (child) process: prints its JSON result. */
function runCase(name, n) {
  const keys = benchKeys();
  const table = new Int32Array(1024);
  const reference = { pick: (key) => table[xxh32Int(key) & 1023] };
  const ring = ringFactory({ ...RING_DEFAULTS, ...ALGORITHMS[name] }).buildRing(
    members(n),
    new Int32Array(n),
  );
  const first = measure(ring, reference, keys, 0);
  const retry = measure(ring, reference, keys, 1);
  console.log(JSON.stringify({ first, retry }));
}

function rebuildTimes() {
  const rows = [];
  for (const name of ['classic', 'ketama', 'maglev', 'rendezvous']) {
    const { buildRing, capacity } = ringFactory({ ...RING_DEFAULTS, ...ALGORITHMS[name] });
    const cells = [10, 100, 1000].map((n) => {
      if (n > capacity) return `– (holds ${capacity})`;
      const list = members(n);
      const loads = new Int32Array(n);
      buildRing(list, loads);
      const runs = [];
      for (let r = 0; r < 5; r++) {
        const start = process.hrtime.bigint();
        buildRing(list, loads);
        runs.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
      runs.sort((a, b) => a - b);
      return runs[2].toFixed(2);
    });
    rows.push(`| ${name} | ${cells.join(' | ')} |`);
  }
  return rows;
}

function main() {
  console.log(
    `# ring pick benchmark (node ${process.version}, rounds of ~${ROUND_SECONDS} s, median of ${ROUNDS})\n`,
  );
  console.log(
    '| algorithm | N | ns per pick | reference ns | × reference | bytes per pick | ns, retry attempt 1 |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const name of Object.keys(ALGORITHMS)) {
    const { capacity } = ringFactory({ ...RING_DEFAULTS, ...ALGORITHMS[name] });
    for (const n of SIZES) {
      if (n > capacity) continue;
      const child = spawnSync(
        process.execPath,
        ['--expose-gc', fileURLToPath(import.meta.url), '--case', name, String(n)],
        { encoding: 'utf8' },
      );
      if (child.status !== 0) throw new Error(`case ${name} N=${n} failed: ${child.stderr}`);
      const { first, retry } = JSON.parse(child.stdout);
      console.log(
        `| ${name} | ${n} | ${first.ns.toFixed(1)} | ${first.referenceNs.toFixed(1)} | ${first.ratio.toFixed(2)} | ${first.bytes.toFixed(3)} | ${retry.ns.toFixed(1)} |`,
      );
    }
  }
  console.log('\n| algorithm | rebuild, 10 replicas (ms) | 100 replicas (ms) | 1000 replicas (ms) |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const row of rebuildTimes()) console.log(row);
  console.log(
    '\nBytes per pick are heap growth over a round. A bounded ring over ketama can show a few: when its body is too large for V8 to inline the inner pick, a key above the small-integer range (2^30, half the string hashes here) is boxed to pass it on. The keys come unboxed from a Float64Array here; on the data path they are already boxed values.',
  );
}

const caseAt = process.argv.indexOf('--case');
if (caseAt >= 0) {
  if (typeof globalThis.gc !== 'function') throw new Error('a case runs with node --expose-gc');
  runCase(process.argv[caseAt + 1], Number(process.argv[caseAt + 2]));
} else {
  main();
}
