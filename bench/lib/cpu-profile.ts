/**
 * Summaries of a V8 `.cpuprofile` (what `node --cpu-prof` writes): where the samples fell, by function
 * (self time) and by function including what it called (total time), so a benchmark report can say
 * which functions the CPU went to.
 */
export interface CpuProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
    readonly columnNumber?: number;
  };
  readonly hitCount?: number;
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly CpuProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

export interface FunctionShare {
  /** `name (file:line)`, with the file shortened to what follows `dist/` or `node_modules/`. */
  readonly name: string;
  /** Share of all samples, 0..1; the idle and GC pseudo-frames count like any other. */
  readonly share: number;
}

export interface ProfileSummary {
  readonly samples: number;
  /** Samples outside `(idle)`: the CPU actually used. */
  readonly busySamples: number;
  /** By self time, largest first, shares of the busy samples. */
  readonly self: readonly FunctionShare[];
  /** Including callees (each function counted once per sample even when recursive), of busy samples. */
  readonly total: readonly FunctionShare[];
}

export function frameName(frame: CpuProfileNode['callFrame']): string {
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  if (frame.url === '') return name;
  const url = frame.url.replace(/^file:\/\//, '');
  const short = /(?:.*\/)?(?:dist|node_modules)\/(.*)$/.exec(url)?.[1] ?? url.replace(/^.*\//, '');
  return `${name} (${short}:${frame.lineNumber + 1})`;
}

function ranked(counts: Map<string, number>, of: number, top: number): FunctionShare[] {
  return [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, top)
    .map(([name, count]) => ({ name, share: of > 0 ? count / of : 0 }));
}

/** Self and total shares of the `top` busiest functions; samples weigh alike (V8 samples at a fixed rate). */
export function summarizeProfile(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  // Hit counts per node: from the sample list when present, else from hitCount.
  const hits = new Map<number, number>();
  if (profile.samples && profile.samples.length > 0) {
    for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  } else {
    for (const node of profile.nodes) if (node.hitCount) hits.set(node.id, node.hitCount);
  }
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let samples = 0;
  let busy = 0;
  for (const [id, count] of hits) {
    samples += count;
    const node = byId.get(id);
    if (!node || node.callFrame.functionName === '(idle)') continue;
    busy += count;
    const name = frameName(node.callFrame);
    self.set(name, (self.get(name) ?? 0) + count);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      if (frame.functionName === '(root)') break;
      const key = frameName(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      total.set(key, (total.get(key) ?? 0) + count);
    }
  }
  return { samples, busySamples: busy, self: ranked(self, busy, top), total: ranked(total, busy, top) };
}

/** A plain-text listing of a summary, for the console and the report. */
export function formatSummary(summary: ProfileSummary, title: string): string {
  const pct = (share: number) => `${(share * 100).toFixed(1).padStart(5)} %`;
  return [
    `${title}: ${summary.busySamples} busy samples of ${summary.samples}`,
    '  self time:',
    ...summary.self.map((f) => `  ${pct(f.share)}  ${f.name}`),
    '  total time (with callees):',
    ...summary.total.map((f) => `  ${pct(f.share)}  ${f.name}`),
  ].join('\n');
}
