// reports/chaos.md and its timeline chart, from what a chaos run observed (bench/chaos.ts runs it).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { timelineSvg, type ChartFault, type ChartMembership } from './chaos-chart.js';
import type { LoadGenerator } from './chaos-load.js';
import type { RingMembership } from './chaos-membership.js';
import type { FaultKind } from './chaos-plan.js';
import { svgToPng } from './lib/png.js';
import { fmt, markdownTable, quantile } from './lib/stats.js';

export interface ChaosOptions {
  readonly quick: boolean;
  readonly seconds: number;
  readonly replicas: number;
  readonly concurrency: number;
  readonly rate: number;
  readonly kills: number;
  readonly stops: number;
  readonly removals: number;
  readonly upstreamTimeoutMs: number;
  readonly ringlbArgs: string[];
  /** Kill one replica before the load starts, to time detection by heartbeat and process exit alone. */
  readonly idleKill: boolean;
}

export interface FaultRecord {
  readonly kind: FaultKind;
  readonly name: string;
  readonly number: number;
  readonly pid: number | undefined;
  at: number;
  readonly probeId: number | undefined;
  outAt?: number;
  backAt?: number;
  servingAt?: number;
  newPid?: number;
  rmStatus?: number;
  rmMs?: number;
  note?: string;
}

export interface Sample {
  inRing: number;
  processes: number;
}

export interface RunResult {
  readonly start: number;
  readonly load: LoadGenerator;
  readonly samples: Sample[];
  readonly timeline: ChartMembership[];
  readonly idle: FaultRecord | undefined;
  readonly faults: FaultRecord[];
  readonly membership: RingMembership;
  readonly stoppedAtEnd: string;
  readonly survivors: number[];
  readonly exitCode: string;
}

export async function writeReport(opts: ChaosOptions, run: RunResult): Promise<void> {
  const { load, faults, start } = run;
  const seconds = Array.from({ length: opts.seconds }, (_, i) => {
    const s = load.seconds[i] ?? { ok: 0, failed: 0, latencies: [] };
    const sample = run.samples[i] ?? run.samples[i - 1] ?? { inRing: NaN, processes: NaN };
    return { ...s, ...sample };
  });
  // Requests completing after the last full second (the drain) belong to the last row.
  for (const extra of load.seconds.slice(opts.seconds)) {
    const last = seconds[seconds.length - 1]!;
    last.ok += extra.ok;
    last.failed += extra.failed;
    last.latencies.push(...extra.latencies);
  }
  const all = load.seconds.flatMap((s) => s.latencies);
  const ok = seconds.reduce((sum, s) => sum + s.ok, 0);
  const failed = seconds.reduce((sum, s) => sum + s.failed, 0);
  const rel = (t: number | undefined) => (t === undefined ? undefined : (t - start) / 1000);
  const ms = (t: number | undefined, from: number | undefined) =>
    t === undefined || from === undefined ? '–' : fmt(t - from);
  const failedBetween = (from: number, to: number) => {
    let count = 0;
    for (
      let i = Math.floor((from - start) / 1000);
      i <= Math.floor((to - start) / 1000) && i < seconds.length;
      i++
    )
      count += seconds[i]?.failed ?? 0;
    return count;
  };

  const idle = run.idle;
  const idleRows = idle
    ? [
        [
          '0',
          'before the load',
          'SIGKILL (idle)',
          idle.name,
          ms(idle.outAt, idle.at),
          ms(idle.backAt, idle.at),
          ms(idle.servingAt, idle.at),
          ms(idle.servingAt, idle.outAt),
          '–',
          idle.note ?? `pid ${idle.pid ?? '?'} → ${idle.newPid ?? '?'}`,
        ],
      ]
    : [];
  const idleDetection = idle?.outAt === undefined ? NaN : idle.outAt - idle.at;
  const faultRows = faults.map((f, i) => [
    String(i + 1),
    fmt((f.at - start) / 1000, 1),
    f.kind,
    f.name,
    ms(f.outAt, f.at),
    ms(f.backAt, f.at),
    f.kind === '/rm'
      ? `/rm answered ${f.rmStatus ?? '?'} in ${fmt(f.rmMs ?? NaN)} ms`
      : ms(f.servingAt, f.at),
    ms(f.servingAt, f.outAt),
    String(failedBetween(f.at, (f.servingAt ?? f.at + (f.rmMs ?? 0)) + 1000)),
    f.note ?? (f.newPid !== undefined ? `pid ${f.pid} → ${f.newPid}` : `pid ${f.pid ?? '?'}`),
  ]);
  const kills = faults.filter((f) => f.kind === 'SIGKILL');
  const worst = (values: (number | undefined)[]) =>
    values.some((v) => v === undefined) ? NaN : Math.max(...(values as number[]), -Infinity);
  const detection = worst(kills.map((f) => (f.outAt === undefined ? undefined : f.outAt - f.at)));
  const replaceAfterDetection = worst(
    faults
      .filter((f) => f.kind !== '/rm')
      .map((f) => (f.servingAt === undefined || f.outAt === undefined ? undefined : f.servingAt - f.outAt)),
  );
  const stop = faults.find((f) => f.kind === 'SIGSTOP');
  const slowestDuringHang = stop
    ? Math.max(
        0,
        ...load.seconds
          .slice(
            Math.floor((stop.at - start) / 1000),
            Math.floor(((stop.servingAt ?? stop.at + 10_000) - start) / 1000) + 2,
          )
          .flatMap((s) => s.latencies),
      )
    : NaN;
  const rmFailures = faults
    .filter((f) => f.kind === '/rm')
    .reduce((sum, f) => sum + failedBetween(f.at, f.at + (f.rmMs ?? 0) + 1000), 0);
  const failureKinds = [...load.failures.entries()].map(([kind, n]) => `${n} × ${kind}`).join(', ') || 'none';
  const verdict = (met: boolean) => (met ? 'met' : 'not met');

  const svg = timelineSvg(
    `ringlb chaos run: ${opts.replicas} replicas, ${opts.seconds} s, ${faults.length} faults, ${failed} failed of ${ok + failed} requests`,
    seconds.map((s) => ({ ok: s.ok, failed: s.failed })),
    run.timeline,
    faults.map((f): ChartFault => ({
      at: rel(f.at)!,
      label: `${f.kind} ${f.name}`,
      outAt: rel(f.outAt),
      servingAt: rel(f.servingAt),
    })),
    opts.seconds,
  );
  mkdirSync('reports', { recursive: true });
  writeFileSync(join('reports', 'chaos.svg'), svg);
  const png = await svgToPng(svg);
  if (png) writeFileSync(join('reports', 'chaos.png'), png);
  const chart = png
    ? '![timeline](chaos.png)\n\n(also as `chaos.svg`)'
    : '![timeline](chaos.svg)\n\n(SVG only: `@resvg/resvg-js` is not installed in this checkout, so no PNG was rendered)';

  const secondRows = seconds.map((s, i) => [
    String(i),
    String(s.ok),
    String(s.failed),
    fmt(quantile(s.latencies, 0.99)),
    fmt(s.latencies.length ? Math.max(...s.latencies) : NaN),
    fmt(s.inRing),
    fmt(s.processes),
    faults
      .filter((f) => Math.floor((f.at - start) / 1000) === i)
      .map((f) => `${f.kind} ${f.name}`)
      .join(', '),
  ]);

  const report = `# Chaos run${opts.quick ? ' (quick)' : ''}

Produced by \`npm run chaos${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\` on ${new Date(start).toISOString()} (node ${process.version}).

- \`ringlb start --replicas ${opts.replicas} --upstream-timeout ${opts.upstreamTimeoutMs}${opts.ringlbArgs.length ? ` ${opts.ringlbArgs.join(' ')}` : ''}\` (local replica processes; other settings default)
- load: ${opts.concurrency} connections, at most ${opts.rate > 0 ? `${opts.rate} requests/s` : 'as fast as they go'}, idempotent \`GET /home\` with a random \`x-request-id\`, 10 s client timeout; a request fails on an error, a timeout, a status other than 200 or a body that is not a replica's greeting
- faults, spaced from 10 % to 85 % of the run: ${faults.map((f) => `${f.kind} ${f.name}`).join(', ') || 'none'}
- ring membership observed from ${run.membership.source}${run.membership.source === 'log lines' ? " (the balancer has no GET /ring yet; times are the log lines' timestamps)" : ', polled every 50 ms'}; "serving again": the first answer from the same replica number to requests with an id it owns, sent every 50 ms after the fault

## Summary

| requests | ok | failed | p50 ms | p99 ms | p99.9 ms | max ms |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| ${ok + failed} | ${ok} | ${failed} | ${fmt(quantile(all, 0.5))} | ${fmt(quantile(all, 0.99))} | ${fmt(quantile(all, 0.999))} | ${fmt(load.slowest.ms)} |

Failures by kind: ${failureKinds}. Slowest request: ${fmt(load.slowest.ms)} ms, started at t = ${fmt((load.slowest.at - start) / 1000, 1)} s.
The SIGSTOPped replica: ${run.stoppedAtEnd}. Balancer exit: ${run.exitCode}; processes of its group still running 1 s after it exited: ${run.survivors.length === 0 ? 'none' : `yes (killed; its replicas were ${run.survivors.join(', ')})`}.

## Faults

Times in ms after the fault was injected (the signal sent, or the /rm request sent).

${markdownTable(['#', 't (s)', 'fault', 'replica', 'out of the ring', 'back in the ring', 'serving again', 'serving after out of the ring', 'failed requests (fault → serving + 1 s)', 'process'], [...idleRows, ...faultRows], 4)}

## Targets of issue 5

- 0 failed idempotent requests: ${failed} failed (${failureKinds}): ${verdict(failed === 0)}
- dead replica out of the ring ≤ 1 s after a kill, under load: worst ${fmt(detection)} ms: ${verdict(detection <= 1000)}
- dead replica out of the ring ≤ 2 s after a kill, idle: ${idle ? `${fmt(idleDetection)} ms: ${verdict(idleDetection <= 2000)}` : 'not measured (--no-idle-kill)'}
- replaced and serving ≤ 2 s after detection: worst ${fmt(replaceAfterDetection)} ms: ${verdict(replaceAfterDetection <= 2000)}
- hung replica: slowest request from the SIGSTOP until it served again ${fmt(slowestDuringHang)} ms, limit per-try timeout + one retry = ${2 * opts.upstreamTimeoutMs} ms: ${stop ? verdict(slowestDuringHang <= 2 * opts.upstreamTimeoutMs) : 'no SIGSTOP in this run'}
- /rm under load: ${rmFailures} failed requests from each /rm until 1 s after its reply: ${verdict(rmFailures === 0)}

## Timeline

${chart}

${markdownTable(['second', 'ok', 'failed', 'p99 ms', 'max ms', 'in the ring (min)', 'replica processes running (min)', 'faults'], secondRows, 1)}
`;
  writeFileSync(join('reports', 'chaos.md'), report);
  console.log(
    `\n${report.split('## Timeline')[0]}written to reports/chaos.md and reports/chaos.${png ? 'png' : 'svg'}`,
  );
}
