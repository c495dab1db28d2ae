import { Gauge, type Registry } from 'prom-client';
import type { RoutingTable } from '../membership/routing-table.js';
import { unbounded } from '../ring/bounded/bounded-load-ring.js';
import { HOT_KEYS_CAPACITY, HOT_KEYS_WINDOW_MS, type HotKeysReport } from './hot-keys-recorder.js';
import { mergeSummaries, type SketchSummary } from './hot-keys-sketch.js';

/** A hot key as `GET /keys/hot` lists it. */
export interface HotKey {
  /** As the hash key reads it: a string key as it came, a request id in decimal. */
  readonly key: string;
  readonly rps: number;
  /** Its fraction of the requests in the window. */
  readonly share: number;
  /** Its replica on the ring in force (ownership, loads aside), or null on an empty ring. */
  readonly owner: string | null;
}

/**
 * In the process that owns the ring (the primary with workers): the intervals every process reported
 * in the last window, merged on demand into the hottest keys.
 */
export class HotKeys {
  readonly #table: () => RoutingTable;
  readonly #windowMs: number;
  readonly #reports: { at: number; summary: SketchSummary }[] = [];
  readonly #since: number;

  readonly #labelled: boolean;

  /**
   * `labelled`: keys are strings, known by the text recorders attach (a key without one was never
   * seen twice in an interval, so it is not listed); otherwise a key is its number, in decimal.
   */
  constructor(table: () => RoutingTable, labelled: boolean, windowMs = HOT_KEYS_WINDOW_MS, now = Date.now()) {
    this.#table = table;
    this.#labelled = labelled;
    this.#windowMs = windowMs;
    this.#since = now;
  }

  add(report: HotKeysReport, now = Date.now()): void {
    this.#reports.push({ at: now, summary: report.summary });
    this.#forget(now);
  }

  #forget(now: number): void {
    while (this.#reports.length > 0 && now - this.#reports[0]!.at > this.#windowMs) this.#reports.shift();
  }

  /** The `n` hottest keys of the window, hottest first. */
  top(n = 20, now = Date.now()): HotKey[] {
    this.#forget(now);
    const merged = mergeSummaries(
      this.#reports.map((r) => r.summary),
      HOT_KEYS_CAPACITY,
    );
    if (merged.total === 0) return [];
    // A window not yet full (just started) is as long as the balancer has been up.
    const seconds = Math.max(0.001, Math.min(this.#windowMs, now - this.#since)) / 1000;
    const table = this.#table();
    const ring = unbounded(table.ring);
    const listed = this.#labelled ? merged.entries.filter((e) => e.label !== undefined) : merged.entries;
    return listed.slice(0, n).map((entry) => {
      const index = ring.pick(entry.key);
      return {
        key: entry.label ?? String(entry.key),
        rps: Math.round((entry.hits / seconds) * 10) / 10,
        share: Math.round((entry.hits / merged.total) * 10_000) / 10_000,
        owner: index < 0 ? null : table.routes[index]!.name,
      };
    });
  }

  /** The hottest key's share of the window's requests (0 without traffic): `ringlb_hot_key_share`. */
  topShare(now = Date.now()): number {
    return this.top(1, now)[0]?.share ?? 0;
  }
}

/** `ringlb_hot_key_share`, read from the merged window at scrape time. */
export function registerHotKeyMetrics(registry: Registry, hotKeys: HotKeys): void {
  new Gauge({
    name: 'ringlb_hot_key_share',
    help: "The hottest hash key's share of the requests of the last 2 s (GET /keys/hot lists the top 20).",
    registers: [registry],
    collect() {
      this.set(hotKeys.topShare());
    },
  });
}
