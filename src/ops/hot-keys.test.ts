import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { buildRoutingTable, type RoutingTable } from '../membership/routing-table.js';
import { RING_DEFAULTS, ringFactory } from '../ring/registry.js';
import { HotKeys } from './hot-keys.js';
import { HotKeyRecorder, samplingPeriod, scaledSummary, type HotKeysReport } from './hot-keys-recorder.js';
import { SpaceSaving } from './hot-keys-sketch.js';

const table: RoutingTable = buildRoutingTable(
  ringFactory({ ...RING_DEFAULTS, algorithm: 'ketama' }).buildRing,
  [1, 2, 3].map((n) => ({ name: `Server ${n}`, number: n, origin: `http://127.0.0.1:${4000 + n}` })),
);

function report(stream: readonly number[], labels: ReadonlyMap<number, string> = new Map()): HotKeysReport {
  const sketch = new SpaceSaving(128);
  for (const key of stream) {
    const slot = sketch.offer(key);
    if (labels.has(key) && sketch.wantsLabel(slot)) sketch.label(slot, labels.get(key));
  }
  return { type: 'ringlb:hot-keys', summary: sketch.summary() };
}

/** `count` requests: `hot` gets `share` of them, the rest go to distinct cold keys. */
function stream(count: number, hot: number, share: number, seed: number): number[] {
  return Array.from({ length: count }, (_, i) => (i % Math.round(1 / share) === 0 ? hot : seed * 1e6 + i));
}

describe('hot keys: merged over processes and the window', () => {
  it('lists the hottest keys with rate, share and owner, from several processes', () => {
    const hot = new HotKeys(() => table, false, 2_000, 0);
    // Two workers, each 1,000 requests in the interval; 777777 is 10 % of each.
    hot.add(report(stream(1_000, 777_777, 0.1, 1)), 1_000);
    hot.add(report(stream(1_000, 777_777, 0.1, 2)), 1_000);
    const [top, ...rest] = hot.top(20, 2_000);
    const ring = table.ring;
    expect(top).toEqual({
      key: '777777',
      rps: 100,
      share: 0.1,
      owner: table.routes[ring.pick(777_777)]!.name,
    });
    expect(rest.length).toBeLessThanOrEqual(19);
    expect(hot.topShare(2_000)).toBe(0.1);
  });

  it('forgets reports older than the window', () => {
    const hot = new HotKeys(() => table, false, 2_000, 0);
    hot.add(report(stream(100, 5, 0.5, 1)), 1_000);
    hot.add(report(stream(100, 6, 0.5, 2)), 2_500);
    expect(hot.top(2, 2_600).map((k) => k.key)).toEqual(['5', '6']);
    expect(hot.top(1, 3_100).map((k) => k.key)).toEqual(['6']);
    expect(hot.top(20, 3_100).map((k) => k.key)).not.toContain('5');
    expect(hot.top(5, 5_000)).toEqual([]);
    expect(hot.topShare(5_000)).toBe(0);
  });

  it('knows string keys by their text, and lists none it has no text for', () => {
    const hot = new HotKeys(() => table, true, 2_000, 0);
    hot.add(report([...stream(200, 42, 0.25, 1), 99], new Map([[42, 'user-42']])), 500);
    const listed = hot.top(20, 1_000);
    expect(listed.map((k) => k.key)).toEqual(['user-42']);
    expect(listed[0]!.rps).toBe(50);
  });

  it('the recorder closes an interval at its period, labels keys seen twice, and sends nothing idle', async () => {
    const reports: HotKeysReport[] = [];
    const recorder = new HotKeyRecorder<string>(
      (r) => reports.push(r),
      (view) => `text of ${view}`,
      40,
    );
    for (let i = 0; i < 50; i++) recorder.record(i % 5 === 0 ? 7 : 1_000 + i, i % 5 === 0 ? 'hot' : 'cold');
    await sleep(70);
    expect(reports).toHaveLength(1);
    const { summary } = reports[0]!;
    expect(summary.total).toBe(50);
    expect(summary.entries[0]).toMatchObject({ key: 7, hits: 10, label: 'text of hot' });
    await sleep(90);
    expect(reports).toHaveLength(1);
    recorder.close();
  });

  it('offers every request below the sampling rate, and one in N above it, scaled back to the whole', async () => {
    expect(samplingPeriod(0, 100)).toBe(1);
    expect(samplingPeriod(199, 100)).toBe(1);
    expect(samplingPeriod(1_000, 100)).toBe(10);
    const summary = report([7, 7, 7, 8]).summary;
    expect(scaledSummary(summary, 1, 4)).toEqual(summary);
    expect(scaledSummary(summary, 10, 40)).toEqual({
      total: 40,
      entries: [
        { key: 7, label: undefined, hits: 30, error: 0 },
        { key: 8, label: undefined, hits: 10, error: 0 },
      ],
      floor: 0,
    });

    const reports: HotKeysReport[] = [];
    const recorder = new HotKeyRecorder<string>((r) => reports.push(r), undefined, 40, 200);
    const interval = async (requests: number) => {
      const before = reports.length;
      for (let i = 0; i < requests; i++) recorder.record(i % 5 === 0 ? 7 : 1_000_000 + i, '');
      while (reports.length === before) await sleep(5);
      return reports[reports.length - 1]!.summary;
    };
    // 20,000 requests in the first interval are all offered; the next one samples about 1 in 100.
    const all = await interval(20_000);
    expect(all.total).toBe(20_000);
    expect(all.entries[0]).toMatchObject({ key: 7, hits: 4_000 });
    const sampled = await interval(20_000);
    expect(sampled.total).toBe(20_000);
    // ~40 samples of key 7 (binomial spread ±6), each standing for 100 requests.
    expect(sampled.entries[0]!.key).toBe(7);
    expect(sampled.entries[0]!.hits).toBeGreaterThan(1_500);
    expect(sampled.entries[0]!.hits).toBeLessThan(7_000);
    recorder.close();
  });
});
