/**
 * The report of `npm run bench:proxy`: tables per workload, ringlb's ratios to nginx and HAProxy
 * measured in the same run, and issue 14's targets, each said met or missed. Pure: numbers in, Markdown
 * out.
 */
import { fmt, markdownTable, median } from './lib/stats.js';
import type { Workload, WorkloadName } from './lib/workloads.js';
import { RINGLB_VARIANTS } from './proxy-options.js';

export type TargetKind = 'direct' | 'nginx' | 'haproxy' | 'ringlb';

export interface TargetInfo {
  readonly name: string;
  readonly kind: TargetKind;
}

export interface Sample {
  /** req/s, or MiB/s for the 1 MiB workloads. */
  readonly throughput: number;
  /** Latency percentiles in µs. */
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  /** Proxy CPU (all its processes) per request in µs; NaN for the direct run. */
  readonly cpuUsPerRequest: number;
  /** Peak resident memory over the run: all processes of the proxy, and the largest one (bytes). */
  readonly rssTotal: number;
  readonly rssMax: number;
  readonly errors: number;
}

export interface WorkloadResult {
  readonly workload: Workload;
  /** Per target name, one sample per round. */
  readonly samples: ReadonlyMap<string, readonly Sample[]>;
}

export interface BackendResult {
  readonly backend: 'nginx' | 'node';
  readonly targets: readonly TargetInfo[];
  readonly workloads: readonly WorkloadResult[];
  /** Resident memory of each proxy's largest process after every workload ran (bytes). */
  readonly rssAfter: ReadonlyMap<string, number>;
}

/** Median over rounds of the per-round ratio a/b (paired, so drift between rounds cancels). */
export function pairedRatio(
  a: readonly Sample[],
  b: readonly Sample[],
  pick: (sample: Sample) => number,
): number {
  return median(a.map((sample, i) => (b[i] ? pick(sample) / pick(b[i]) : NaN)));
}

export interface Target {
  readonly workload: WorkloadName;
  readonly metric: 'throughput' | 'p99' | 'cpu';
  readonly atLeast?: number;
  readonly atMost?: number;
}

/** Issue 14's targets, as ratios to nginx measured in the same run. */
export const ISSUE_14_TARGETS: readonly Target[] = [
  { workload: 'get', metric: 'throughput', atLeast: 1.1 },
  { workload: 'get', metric: 'cpu', atMost: 0.9 },
  { workload: 'post1k', metric: 'throughput', atLeast: 1.0 },
  { workload: 'post1k', metric: 'p99', atMost: 1.2 },
  { workload: 'mix', metric: 'throughput', atLeast: 1.0 },
  { workload: 'upload1m', metric: 'throughput', atLeast: 0.9 },
  { workload: 'download1m', metric: 'throughput', atLeast: 0.9 },
];

export const RSS_TARGET_MB = 80;

/** Issue 17: GET req/s of the defaults (hot keys on) at least this share of `--hot-keys false`'s. */
export const HOT_KEYS_TARGET = 0.97;

const METRIC_PICK: Record<Target['metric'], (s: Sample) => number> = {
  throughput: (s) => s.throughput,
  p99: (s) => s.p99,
  cpu: (s) => s.cpuUsPerRequest,
};

export interface Check {
  readonly text: string;
  readonly met: boolean;
}

function describeTarget(target: Target, workload: Workload): string {
  const what = { throughput: workload.unit, p99: 'p99', cpu: 'CPU µs per request' }[target.metric];
  const bound = target.atLeast !== undefined ? `≥ ${target.atLeast}` : `≤ ${target.atMost}`;
  return `${workload.title}: ${what} ÷ nginx ${bound}`;
}

/** Every target for every ringlb row, and the RSS bound, each met or missed. */
export function targetChecks(result: BackendResult, targets = ISSUE_14_TARGETS): Check[] {
  const nginx = result.targets.find((t) => t.kind === 'nginx');
  const checks: Check[] = [];
  for (const target of result.targets.filter((t) => t.kind === 'ringlb')) {
    for (const goal of targets) {
      const run = result.workloads.find((w) => w.workload.name === goal.workload);
      if (!run || !nginx) continue;
      const ratio = pairedRatio(
        run.samples.get(target.name) ?? [],
        run.samples.get(nginx.name) ?? [],
        METRIC_PICK[goal.metric],
      );
      const met =
        Number.isFinite(ratio) &&
        (goal.atLeast === undefined || ratio >= goal.atLeast) &&
        (goal.atMost === undefined || ratio <= goal.atMost);
      checks.push({
        text: `${target.name}, ${describeTarget(goal, run.workload)}: ${fmt(ratio, 2)} — ${met ? 'met' : 'MISSED'}`,
        met,
      });
    }
    const rss = result.rssAfter.get(target.name);
    if (rss !== undefined) {
      const mb = rss / 2 ** 20;
      const met = mb <= RSS_TARGET_MB;
      checks.push({
        text: `${target.name}, RSS after every workload ≤ ${RSS_TARGET_MB} MB: ${fmt(mb, 1)} MB — ${met ? 'met' : 'MISSED'}`,
        met,
      });
    }
  }
  const hotKeys = hotKeysCheck(result);
  if (hotKeys) checks.push(hotKeys);
  return checks;
}

/** Hot keys on against off on GET, when both rows ran (`--variants defaults,hot-keys-off`). */
export function hotKeysCheck(result: BackendResult): Check | undefined {
  const get = result.workloads.find((w) => w.workload.name === 'get');
  const on = get?.samples.get(RINGLB_VARIANTS.defaults.name);
  const off = get?.samples.get(RINGLB_VARIANTS['hot-keys-off'].name);
  if (!on || !off) return undefined;
  const ratio = pairedRatio(on, off, METRIC_PICK.throughput);
  const cpu = pairedRatio(on, off, METRIC_PICK.cpu);
  const met = Number.isFinite(ratio) && ratio >= HOT_KEYS_TARGET;
  return {
    text: `hot keys on ÷ off (issue 17), GET req/s ≥ ${HOT_KEYS_TARGET}: ${fmt(ratio, 2)} (CPU µs per request ${fmt(cpu, 2)}) — ${met ? 'met' : 'MISSED'}`,
    met,
  };
}

const errorsOf = (samples: readonly Sample[]) => samples.reduce((sum, s) => sum + s.errors, 0);
const mb = (bytes: number) => fmt(bytes / 2 ** 20, 1);

/** One workload: every target's medians, then ringlb's ratios to the peers. */
export function workloadSection(result: BackendResult, run: WorkloadResult): string {
  const unit = run.workload.unit;
  const digits = unit === 'MiB/s' ? 1 : 0;
  const rows = result.targets.map((target) => {
    const s = run.samples.get(target.name) ?? [];
    const proxied = target.kind !== 'direct';
    return [
      target.name,
      fmt(median(s.map((x) => x.throughput)), digits),
      fmt(median(s.map((x) => x.p50)) / 1000, 2),
      fmt(median(s.map((x) => x.p99)) / 1000, 2),
      fmt(median(s.map((x) => x.p999)) / 1000, 2),
      fmt(median(s.map((x) => x.cpuUsPerRequest)), 1),
      proxied ? mb(median(s.map((x) => x.rssMax))) : '–',
      String(errorsOf(s)),
    ];
  });
  const table = markdownTable(
    [
      'target',
      unit,
      'p50 ms',
      'p99 ms',
      'p99.9 ms',
      'proxy CPU µs/req',
      'peak RSS MB (largest process)',
      'errors',
    ],
    rows,
  );
  const samplesOf = (kind: TargetKind) => {
    const found = result.targets.find((t) => t.kind === kind);
    return found ? (run.samples.get(found.name) ?? []) : [];
  };
  const nginx = samplesOf('nginx');
  const haproxy = samplesOf('haproxy');
  const ratioRows = result.targets
    .filter((t) => t.kind === 'ringlb')
    .map((target) => {
      const s = run.samples.get(target.name) ?? [];
      return [
        target.name,
        fmt(pairedRatio(s, nginx, METRIC_PICK.throughput), 2),
        fmt(pairedRatio(s, nginx, METRIC_PICK.p99), 2),
        fmt(pairedRatio(s, nginx, METRIC_PICK.cpu), 2),
        fmt(pairedRatio(s, haproxy, METRIC_PICK.throughput), 2),
        fmt(pairedRatio(s, haproxy, METRIC_PICK.p99), 2),
        fmt(pairedRatio(s, haproxy, METRIC_PICK.cpu), 2),
      ];
    });
  const ratios = markdownTable(
    [
      'ringlb',
      `${unit} ÷ nginx`,
      'p99 ÷ nginx',
      'CPU/req ÷ nginx',
      `${unit} ÷ HAProxy`,
      'p99 ÷ HAProxy',
      'CPU/req ÷ HAProxy',
    ],
    ratioRows,
  );
  return `### ${run.workload.title}\n\n${table}\n\n${ratios}\n`;
}

/** The headline: every ringlb row against nginx, one line per workload, as issue 14 puts it. */
export function summaryTable(result: BackendResult): string {
  const nginx = result.targets.find((t) => t.kind === 'nginx');
  const rows: string[][] = [];
  for (const run of result.workloads) {
    const base = nginx ? (run.samples.get(nginx.name) ?? []) : [];
    for (const target of result.targets.filter((t) => t.kind === 'ringlb')) {
      const s = run.samples.get(target.name) ?? [];
      rows.push([
        run.workload.title,
        target.name,
        fmt(pairedRatio(s, base, METRIC_PICK.throughput), 2),
        fmt(pairedRatio(s, base, METRIC_PICK.p99), 2),
        fmt(pairedRatio(s, base, METRIC_PICK.cpu), 2),
      ]);
    }
  }
  return markdownTable(
    ['workload', 'ringlb', 'req/s (MiB/s) ÷ nginx', 'p99 ÷ nginx', 'CPU µs per request ÷ nginx'],
    rows,
    2,
  );
}

/** Each proxy's largest process after the last workload. */
export function rssAfterTable(result: BackendResult): string {
  const rows = result.targets
    .filter((t) => result.rssAfter.has(t.name))
    .map((t) => [t.name, mb(result.rssAfter.get(t.name)!)]);
  return markdownTable(['proxy', 'RSS MB after every workload (largest process)'], rows);
}

export function backendSection(result: BackendResult, described: string): string {
  return [
    `## Backends: ${described}`,
    '',
    'ringlb ÷ nginx (median over rounds of the per-round ratio, measured in the same run):',
    '',
    summaryTable(result),
    '',
    rssAfterTable(result),
    '',
    ...result.workloads.map((run) => workloadSection(result, run)),
  ].join('\n');
}
