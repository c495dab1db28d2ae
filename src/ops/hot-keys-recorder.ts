import { SpaceSaving, type SketchSummary } from './hot-keys-sketch.js';

/*
 * The request path's half of hot keys, in a module of its own: every process that proxies records, and
 * a `--workers` process loads this without prom-client (the primary's HotKeys, in hot-keys.ts).
 */

/** Keys monitored per interval in each process: any key above 1/128 of an interval's requests is. */
export const HOT_KEYS_CAPACITY = 128;
/** Each process closes an interval this often and hands its summary to the primary. */
export const HOT_KEYS_INTERVAL_MS = 500;
/** `GET /keys/hot` covers the intervals of the last this long, so a key hot now shows within it. */
export const HOT_KEYS_WINDOW_MS = 2_000;

/** One interval's summary from one process (a worker's comes over IPC). */
export interface HotKeysReport {
  readonly type: 'ringlb:hot-keys';
  readonly summary: SketchSummary;
}

/**
 * Requests a recorder offers its sketch per interval, about: below this rate every request is
 * offered; above it one in `every` is, at random (mean `every`), so the sketch costs a counter
 * decrement on most requests at high rates. 2,048 per 500 ms keeps a key at 5 % ahead of one at 4 %
 * over a 2 s window (8,192 samples, ~410 of them the 5 % key's: a spread of ±20).
 */
export const HOT_KEYS_SAMPLES_PER_INTERVAL = 2_048;

/** The offering period for the next interval, given the requests of the last one. */
export function samplingPeriod(requests: number, samplesPerInterval = HOT_KEYS_SAMPLES_PER_INTERVAL): number {
  return Math.max(1, Math.floor(requests / samplesPerInterval));
}

/**
 * A summary of one in `every` requests (on average) scaled back to the whole stream of `total`: the
 * counts an unsampled sketch would have had, in expectation.
 */
export function scaledSummary(summary: SketchSummary, every: number, total: number): SketchSummary {
  if (every === 1) return { ...summary, total };
  return {
    total,
    entries: summary.entries.map((e) => ({ ...e, hits: e.hits * every, error: e.error * every })),
    floor: summary.floor * every,
  };
}

/**
 * The request path's part: one Space-Saving sketch per process, offered the ring keys of a sample of
 * the requests (see HOT_KEYS_SAMPLES_PER_INTERVAL), closed every interval and sent on. A key's text
 * (`labelOf`, only for string hash keys) is read the second time the key is sampled for sure, so a
 * request pays a text read only when its key may be hot.
 */
export class HotKeyRecorder<View> {
  readonly #sketch = new SpaceSaving(HOT_KEYS_CAPACITY);
  readonly #labelOf: ((view: View) => string | undefined) | undefined;
  readonly #timer: NodeJS.Timeout;
  readonly #samplesPerInterval: number;
  /** Requests recorded in this interval, sampled or not. */
  #requests = 0;
  /** One request in `#every` is offered to the sketch, on average. */
  #every = 1;
  /** Requests left until the next one offered. */
  #countdown = 1;

  constructor(
    send: (report: HotKeysReport) => void,
    labelOf?: (view: View) => string | undefined,
    intervalMs = HOT_KEYS_INTERVAL_MS,
    samplesPerInterval = HOT_KEYS_SAMPLES_PER_INTERVAL,
  ) {
    this.#labelOf = labelOf;
    this.#samplesPerInterval = samplesPerInterval;
    this.#timer = setInterval(() => {
      const requests = this.#requests;
      const every = this.#every;
      this.#requests = 0;
      this.#every = samplingPeriod(requests, this.#samplesPerInterval);
      this.#countdown = Math.min(this.#countdown, this.#every);
      if (requests === 0 || this.#sketch.total === 0) return;
      const summary = scaledSummary(this.#sketch.summary(), every, requests);
      this.#sketch.clear();
      send({ type: 'ringlb:hot-keys', summary });
    }, intervalMs);
    this.#timer.unref();
  }

  record(key: number, view: View): void {
    this.#requests++;
    if (--this.#countdown > 0) return;
    const every = this.#every;
    // A random gap (1 .. 2·every − 1) rather than a fixed one: a client cycling through keys with a
    // period that divides `every` would otherwise have the same few keys sampled every time.
    this.#countdown = every === 1 ? 1 : 1 + Math.floor(Math.random() * (2 * every - 1));
    const slot = this.#sketch.offer(key);
    if (this.#labelOf !== undefined && this.#sketch.wantsLabel(slot)) {
      this.#sketch.label(slot, this.#labelOf(view));
    }
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
