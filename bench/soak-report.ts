// reports/soak.md and its charts (throughput and failures, memory, fds, latency, event-loop delay,
// every fault marked), the verdict per check, and the run's last line. Charts are the analysis's
// own SVG line charts (src/analysis/svg-chart.ts), rendered to PNG by bench/lib/png.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lineChartSvg, type LineSeries } from '../src/analysis/svg-chart.js';
import { svgToPng } from './lib/png.js';
import { fmt, markdownTable, quantile } from './lib/stats.js';
import {
  classify,
  fdsBackAfter,
  judgeFlat,
  slopeWindow,
  WINDOW_GRACE_MS,
  type FaultWindow,
  type Flatness,
} from './soak-judge.js';
import type { SoakOptions } from './soak-options.js';
import type { Failure, Recorder } from './soak-record.js';
import type { Sample } from './soak-sampler.js';
import { describeKinds, pooled, pooledBound } from './soak-fds.js';

export interface SoakRun {
  readonly opts: SoakOptions;
  readonly argv: readonly string[];
  readonly description: readonly string[];
  readonly loadStart: number;
  readonly stoppedAt: number;
  readonly cleanMs: number;
  readonly recorder: Recorder;
  readonly misbehaving: ReadonlyMap<string, number>;
  readonly samples: readonly Sample[];
  /** Open fds after the load, and how many of them are established connections to replicas. */
  readonly after: readonly { readonly at: number; readonly fds: number; readonly pooled: number }[];
  readonly baselineFds: number;
  /** The balancer's fds by kind at the baseline and at the last sample after the load (bench/soak-fds.ts). */
  readonly baselineKinds: Record<string, number>;
  readonly endKinds: Record<string, number>;
  /** Balancer processes at the end, and the servers they may keep a connection to. */
  readonly endProcesses: number;
  readonly pooledPeers: number;
  readonly faults: readonly FaultWindow[];
  readonly certificateMs: readonly number[];
  readonly endStates: { readonly states: Record<string, number>; readonly wanted: number };
  readonly orphans: readonly string[];
}

/** p99 may grow this much outside the fault windows, against the clean phase. */
const P99_LIMIT = 1.5;
const FDS_BACK_MS = 10_000;

const SHORT: Record<string, string> = {
  SIGKILL: 'kill',
  SIGSTOP: 'stop',
  'slow replica': 'slow',
  'reset replica': 'reset',
  '/add': 'add',
  '/rm': 'rm',
  'PUT /ring': 'ring',
  'certificate rotation': 'cert',
  'etcd member restart': 'etcd',
  'leader instance killed': 'leader',
  'dockerd restart': 'dockerd',
};

export async function writeSoakReport(run: SoakRun): Promise<{ lastLine: string; failed: boolean }> {
  const { recorder, faults, opts } = run;
  // A quick run (CI's) has a report of its own, so that it never overwrites the committed one.
  const base = opts.quick ? 'soak-quick' : 'soak';
  const sec = (ms: number) => (ms - run.loadStart) / 1000;
  const classified = recorder.failures.map((failure) => ({ failure, verdict: classify(failure, faults) }));
  const unexpected = classified.filter((c) => !c.verdict.expected);
  const expected = classified.filter((c) => c.verdict.expected);

  // Memory and fds over the fitting window, in minutes since the load started.
  const windowMs = slopeWindow(opts.loadMs);
  const inWindow = run.samples.filter((s) => s.t >= opts.loadMs - windowMs && s.t <= opts.loadMs);
  // Only processes alive for the whole window (a killed instance's processes start over).
  const steady = new Set(
    [...new Set(inWindow.flatMap((s) => s.processes.map((p) => p.pid)))].filter((pid) =>
      inWindow.every((s) => s.processes.some((p) => p.pid === pid)),
    ),
  );
  const sum = (s: Sample, pick: (p: Sample['processes'][number]) => number) =>
    s.processes.filter((p) => steady.has(p.pid)).reduce((total, p) => total + pick(p), 0);
  const rssPoints = inWindow.map((s) => [s.t / 60_000, sum(s, (p) => p.rssMb)] as const);
  const fdPoints = inWindow.map((s) => [s.t / 60_000, sum(s, (p) => p.fds)] as const);
  // Heap after the last major GC, from the first sample where every steady process has had one.
  const heapPoints = inWindow
    .filter((s) => s.processes.every((p) => !steady.has(p.pid) || p.heapAfterGcMb !== undefined))
    .map((s) => [s.t / 60_000, sum(s, (p) => p.heapAfterGcMb ?? 0)] as const);
  const meanRss = rssPoints.reduce((t, p) => t + p[1], 0) / Math.max(1, rssPoints.length);
  const rss = judgeFlat(rssPoints, Math.max(4, 0.1 * meanRss));
  const fds = judgeFlat(fdPoints, 5);
  // The heap's floor: 10 % of its mean over 8 minutes. A minute (--quick, on a CI machine) is still
  // warm-up for V8 (the quick runs' heap kept rose 15 MB of 45 in their last 48 s without a leak, and
  // was flat over 10 minutes), so there the floor is half the mean: it fails on a gross leak (a
  // request's buffers kept), and the fd checks are the ones that catch a leaked connection.
  const heapFloorShare = opts.quick ? 0.5 : 0.1;
  const heap = judgeFlat(
    heapPoints,
    Math.max(2, heapFloorShare * (heapPoints.reduce((t, p) => t + p[1], 0) / Math.max(1, heapPoints.length))),
  );
  // Established connections to replicas and etcd are pools the balancer keeps by design (an h2c
  // session per replica and process stays open; HTTP/1.1 keep-alive idles out): left out of the
  // return-to-baseline count, and checked against their bound instead (bench/soak-fds.ts).
  const baselinePooled = pooled(run.baselineKinds);
  const baselineOwn = run.baselineFds - baselinePooled;
  const own = run.after.map((a) => ({ at: a.at, fds: a.fds - a.pooled }));
  const fdsBackMs = fdsBackAfter(own, run.stoppedAt, baselineOwn);
  const lastOwn = own.at(-1)?.fds ?? NaN;
  const lastPooled = run.after.at(-1)?.pooled ?? NaN;
  const poolBound = pooledBound(run.endProcesses, run.pooledPeers);

  // p99 of the clean phase against p99 outside the fault windows afterwards.
  const seconds = recorder.seconds;
  const overlapsFault = (i: number) => {
    const from = run.loadStart + i * 1000;
    return faults.some((f) => from <= f.end + WINDOW_GRACE_MS && from + 1000 >= f.at);
  };
  const cleanLatencies = seconds.slice(0, Math.floor(run.cleanMs / 1000)).flatMap((s) => s.latencies);
  const quietLatencies = seconds
    .slice(Math.ceil(run.cleanMs / 1000), Math.floor(opts.loadMs / 1000))
    .flatMap((s, i) => (overlapsFault(i + Math.ceil(run.cleanMs / 1000)) ? [] : s.latencies));
  const cleanP99 = quantile(cleanLatencies, 0.99);
  const quietP99 = quantile(quietLatencies, 0.99);
  const p99Ratio = quietP99 / cleanP99;

  const endHealthy =
    run.endStates.wanted > 0 &&
    run.endStates.states.healthy === run.endStates.wanted &&
    Object.entries(run.endStates.states).every(([state, n]) => state === 'healthy' || n === 0);
  const stateText =
    Object.entries(run.endStates.states)
      .map(([s, n]) => `${n} ${s}`)
      .join(', ') || 'no answer';

  const describeFlat = (what: string, unit: string, f: Flatness) =>
    `slope ${fmt(f.trend.slope, 2)} ${unit}/min over the last ${fmt(f.trend.minutes, 1)} min (${f.trend.points} samples, mean ${fmt(f.trend.mean, 1)} ${unit}): the fitted line rises ${fmt(f.trend.rise, 1)} ${unit}, allowed ${fmt(f.allowed, 1)} ${unit} (the larger of 2 × the noise around the line, ${fmt(f.trend.noise, 1)}, and the ${what} floor)`;
  // In --quick (CI) only a lost request or a leak fails the run; latency and the end state are reported.
  const checks: { name: string; ok: boolean; fatal: boolean; text: string }[] = [
    {
      name: 'unexpected failures',
      ok: unexpected.length === 0,
      fatal: true,
      text: `${unexpected.length} unexpected failed requests of ${recorder.sent} (${expected.length} expected, each explained by a fault below)`,
    },
    {
      name: 'heap',
      ok: heap.flat,
      fatal: true,
      text: `V8 heap kept (used right after each major GC) of the balancer processes flat: ${describeFlat(`2 MB / ${heapFloorShare * 100} %`, 'MB', heap)}`,
    },
    {
      name: 'RSS',
      ok: rss.flat,
      // A minute is too short to tell a leak in RSS from V8 growing its heap; the heap kept tells.
      fatal: !opts.quick,
      text: `RSS of the balancer processes flat: ${describeFlat('warm-up (10 % of the mean, ≥ 4 MB)', 'MB', rss)}`,
    },
    {
      name: 'fds',
      ok: fds.flat,
      fatal: true,
      text: `open fds of the balancer processes flat: ${describeFlat('5-fd', 'fds', fds)}`,
    },
    {
      name: 'fds back',
      // Idle HTTP/1.1 keep-alive to replicas closes within their keep-alive timeout (5 s for the
      // soak's and ringlb's replicas); what stays is an h2c session or the heartbeat's connection.
      ok: fdsBackMs !== undefined && fdsBackMs <= FDS_BACK_MS && lastPooled <= poolBound,
      fatal: true,
      text:
        `open fds back to the ${baselineOwn} of the start within 10 s of the load stopping, pooled connections (to replicas, to etcd) left out: ${fdsBackMs === undefined ? `not within ${fmt((run.after.at(-1)?.at ?? run.stoppedAt) - run.stoppedAt)} ms (${lastOwn} at the end)` : `after ${fmt(fdsBackMs)} ms`}; ` +
        `pooled connections ${lastPooled} (${baselinePooled} at the start), at most ${poolBound} allowed (one per balancer process and server, and one per server for the primary's heartbeat: (${run.endProcesses} + 1) × ${run.pooledPeers})`,
    },
    {
      name: 'orphans',
      ok: run.orphans.length === 0,
      fatal: true,
      text: `no orphan process or container after the run: ${run.orphans.length === 0 ? 'none' : run.orphans.join('; ')}`,
    },
    {
      name: 'replicas healthy',
      ok: endHealthy,
      fatal: !opts.quick,
      text: `every replica healthy at the end: ${stateText} of ${run.endStates.wanted} in the ring`,
    },
    {
      name: 'p99',
      ok: p99Ratio <= P99_LIMIT,
      fatal: !opts.quick,
      text: `p99 outside fault windows ${fmt(quietP99)} ms (${quietLatencies.length} requests) vs ${fmt(cleanP99)} ms in the clean phase (${cleanLatencies.length}): ${fmt(p99Ratio, 2)} ×, limit ${P99_LIMIT} ×`,
    },
  ];
  const failedChecks = checks.filter((c) => !c.ok && c.fatal).map((c) => c.name);
  const verdictLines = checks.map(
    (c) =>
      `- ${c.ok ? '**ok**' : c.fatal ? '**FAILED**' : '**not met** (reported only in --quick)'}: ${c.text}`,
  );

  // Per-second series for the charts.
  const perSecond = seconds.map((s, i) => {
    const from = run.loadStart + i * 1000;
    const inSecond = (f: Failure) => f.end >= from && f.end < from + 1000;
    return {
      t: i,
      ok: s.ok,
      expected: expected.filter((c) => inSecond(c.failure)).length,
      unexpected: unexpected.filter((c) => inSecond(c.failure)).length,
      p50: quantile(s.latencies, 0.5),
      p99: quantile(s.latencies, 0.99),
    };
  });
  const markers = faults.map((f) => ({ x: sec(f.at), label: SHORT[f.kind] ?? f.kind }));
  const pids = [...new Set(run.samples.flatMap((s) => s.processes.map((p) => p.pid)))];
  const label = (pid: number) =>
    `${run.samples.find((s) => s.processes.some((p) => p.pid === pid))?.processes.find((p) => p.pid === pid)?.role ?? '?'} ${pid}`;
  const perProcess = (
    pick: (p: Sample['processes'][number]) => number | undefined,
    dashed = false,
  ): LineSeries[] =>
    pids.map((pid) => ({
      name: label(pid),
      dashed,
      points: run.samples.flatMap((s) => {
        const p = s.processes.find((q) => q.pid === pid);
        const v = p ? pick(p) : undefined;
        return v === undefined || !Number.isFinite(v) ? [] : [[s.t / 1000, v] as const];
      }),
    }));
  const charts: { name: string; title: string; svg: string }[] = [
    {
      name: `${base}-throughput`,
      title: 'Throughput and failures',
      svg: lineChartSvg({
        title: 'Requests per second: succeeded, failed (expected / unexpected)',
        xLabel: 'seconds since the load started (dashed lines: faults)',
        yLabel: 'requests / s',
        series: [
          { name: 'succeeded', points: perSecond.map((p) => [p.t, p.ok]) },
          { name: 'failed, expected', points: perSecond.map((p) => [p.t, p.expected]) },
          { name: 'failed, unexpected', points: perSecond.map((p) => [p.t, p.unexpected]) },
        ],
        markers,
      }),
    },
    {
      name: `${base}-memory`,
      title: 'Memory',
      svg: lineChartSvg({
        title: 'RSS (solid) and V8 heap used (dashed) per balancer process',
        xLabel: 'seconds since the load started (dashed verticals: faults)',
        yLabel: 'MB',
        series: [...perProcess((p) => p.rssMb), ...perProcess((p) => p.heapMb, true)],
        markers,
      }),
    },
    {
      name: `${base}-fds`,
      title: 'Open file descriptors',
      svg: lineChartSvg({
        title: 'Open fds per balancer process, and their sum',
        xLabel: 'seconds since the load started (the load stops at the end)',
        yLabel: 'open fds',
        series: [
          {
            name: 'sum',
            points: [
              ...run.samples.map((s) => [s.t / 1000, s.fds] as const),
              ...run.after.map((a) => [sec(a.at), a.fds] as const),
            ],
          },
          ...perProcess((p) => p.fds),
        ],
        markers,
      }),
    },
    {
      name: `${base}-latency`,
      title: 'Latency',
      svg: lineChartSvg({
        title: 'Latency of the requests that succeeded, per second',
        xLabel: 'seconds since the load started (dashed verticals: faults)',
        yLabel: 'ms',
        series: [
          { name: 'p50', points: perSecond.filter((p) => Number.isFinite(p.p50)).map((p) => [p.t, p.p50]) },
          { name: 'p99', points: perSecond.filter((p) => Number.isFinite(p.p99)).map((p) => [p.t, p.p99]) },
        ],
        markers,
      }),
    },
    {
      name: `${base}-event-loop`,
      title: 'Event-loop delay',
      svg: lineChartSvg({
        title: 'Event-loop delay p99 per balancer process, per second',
        xLabel: 'seconds since the load started (dashed verticals: faults)',
        yLabel: 'ms',
        series: perProcess((p) => p.delayP99Ms),
        markers,
      }),
    },
  ];
  mkdirSync('reports', { recursive: true });
  const images: string[] = [];
  for (const chart of charts) {
    writeFileSync(join('reports', `${chart.name}.svg`), chart.svg);
    const png = await svgToPng(chart.svg);
    if (png) writeFileSync(join('reports', `${chart.name}.png`), png);
    images.push(`### ${chart.title}\n\n![${chart.title}](${chart.name}.${png ? 'png' : 'svg'})`);
  }

  const streamRows = [...recorder.streams.entries()].map(([name, counts]) => {
    const mine = classified.filter((c) => c.failure.stream === name);
    return [
      name,
      String(counts.sent),
      String(counts.ok),
      String(mine.filter((c) => c.verdict.expected).length),
      String(mine.filter((c) => !c.verdict.expected).length),
    ];
  });
  // One row per kind of failure, with when they started (first and last, s into the load): what a
  // failure coincided with is the first clue to its cause.
  const group = (list: typeof classified) => {
    const rows = new Map<string, { n: number; first: number; last: number }>();
    for (const c of list) {
      const key = `${c.failure.stream} | ${c.failure.stage} | ${c.failure.reason} | ${c.verdict.why}`;
      const row = rows.get(key) ?? { n: 0, first: Infinity, last: -Infinity };
      row.n++;
      row.first = Math.min(row.first, c.failure.start);
      row.last = Math.max(row.last, c.failure.start);
      rows.set(key, row);
    }
    return [...rows.entries()]
      .sort((a, b) => b[1].n - a[1].n)
      .map(([key, row]) => [
        String(row.n),
        row.n === 1 ? fmt(sec(row.first), 1) : `${fmt(sec(row.first), 1)}–${fmt(sec(row.last), 1)}`,
        ...key.split(' | '),
      ]);
  };
  const faultRows = faults.map((f) => {
    const during = classified.filter(
      (c) => c.failure.start <= f.end + WINDOW_GRACE_MS && c.failure.end >= f.at,
    );
    return [
      fmt(sec(f.at), 1),
      f.kind,
      f.target,
      fmt((f.end - f.at) / 1000, 1),
      String(during.filter((c) => c.verdict.expected).length),
      String(during.filter((c) => !c.verdict.expected).length),
    ];
  });
  const slope = (f: Flatness, digits: number) => fmt(f.trend.slope, digits);
  const lastLine = `soak: ${recorder.sent} requests, ${unexpected.length} unexpected failures, RSS slope ${slope(rss, 2)} MB/min, fd slope ${slope(fds, 1)}/min: ${failedChecks.length === 0 ? 'ok' : `FAILED ${failedChecks.join(', ')}`}`;

  const report = `# Soak run${opts.quick ? ' (quick)' : ''}

Produced by \`npm run soak${run.argv.length ? ` -- ${run.argv.join(' ')}` : ''}\` on ${new Date(run.loadStart).toISOString()} (node ${process.version}): ${fmt(opts.loadMs / 60_000, 1)} min of load, the first ${fmt(run.cleanMs / 1000)} s without faults (the clean phase), then ${faults.length} faults.

${run.description.map((line) => `- ${line}`).join('\n')}
- misbehaving clients (not counted as requests: they give up on purpose): ${[...run.misbehaving.entries()].map(([name, n]) => `${n} × ${name}`).join(', ') || 'none'}
- every request is checked: status, the whole body (downloads byte by byte against a known pattern, uploads by the SHA-256 the replica read), gRPC replies equal to the request, WebSocket echoes equal to the message; a client gives up after 10 s (a slow reader after 30 s)
- recorded every second: requests sent / succeeded / failed, p50 / p99, RSS and open fds of every ringlb process (/proc), V8 heap used and event-loop delay p99 (bench/soak-probe.ts, loaded into each ringlb process with NODE_OPTIONS=--import), replicas by state (GET /metrics)

## Verdict

${verdictLines.join('\n')}

How the slopes are judged: a least-squares line through the samples of the last ${opts.loadMs >= 600_000 ? '8 minutes' : '80 % of the run'}, summed over the balancer processes that lived through the whole window; memory is flat when the line rises over the window by no more than twice the standard deviation of the samples around it (the GC's sawtooth, connections opening and closing) or a floor for warm-up, whichever is larger. A leak keeps growing, so over a longer run it outgrows both; noise does not. The heap kept is read right after each major (mark-compact) GC in each process (a PerformanceObserver in bench/soak-probe.ts): what survives a full collection, without the garbage between collections; in --quick it is the memory check that fails the run, RSS being reported (a minute of RSS cannot tell a leak from V8 growing its heap).

Failures are classified after the run against the fault windows (from the fault to ${WINDOW_GRACE_MS / 1000} s after its effect ended): only a request that is not idempotent and was in flight while its replica was killed, stopped, slow or reset, or a response cut mid-body by a kill or a reset, or a request to a killed balancer instance is expected. An idempotent request that failed before its response, and any failure during /add, /rm, PUT /ring or a certificate rotation, is unexpected.

## Requests

${markdownTable(['stream', 'sent', 'succeeded', 'failed, expected', 'failed, unexpected'], streamRows, 1)}

### Unexpected failures

${unexpected.length === 0 ? 'None.' : markdownTable(['n', 'started at t (s)', 'stream', 'stage', 'reason', 'why unexpected'], group(unexpected), 0)}

### Expected failures

${expected.length === 0 ? 'None.' : markdownTable(['n', 'started at t (s)', 'stream', 'stage', 'reason', 'explained by'], group(expected), 0)}

## Faults

${markdownTable(['t (s)', 'fault', 'target', 'lasted (s)', 'failures, expected', 'failures, unexpected'], faultRows, 0)}

Open fds of the balancer processes by kind (sockets by their peer: the clients' connections to the balancer, its connections to replicas, anything else; the harness asks the balancer nothing once the load stops, so none of these are its own): at the baseline ${describeKinds(run.baselineKinds)}; ${fmt(((run.after.at(-1)?.at ?? run.stoppedAt) - run.stoppedAt) / 1000, 1)} s after the load (when they were back, or at 12 s) ${describeKinds(run.endKinds)}.

Certificate rotations: a fresh connection was shown the new certificate ${run.certificateMs.map((ms) => (Number.isFinite(ms) ? `${fmt(ms)} ms` : 'never (10 s)')).join(', ') || '–'} after the rename.

## Charts

${images.join('\n\n')}
`;
  writeFileSync(join('reports', `${base}.md`), report);
  console.log(`\n${report.split('## Requests')[0]}written to reports/${base}.md`);
  return { lastLine, failed: failedChecks.length > 0 };
}
