/**
 * Space-Saving (Metwally, Agrawal, El Abbadi 2005): the top keys of a stream in fixed memory. It
 * monitors `capacity` keys; an unmonitored key takes the slot of the least counted one and inherits
 * its count as `error`. Every key seen more than total / capacity times is monitored, and a monitored
 * key's true count lies in [count − error, count]. Pure: no I/O, no clock, no allocation per offer
 * once a key is monitored (a Map entry when a key is first taken in).
 */
export interface SketchEntry {
  /** The ring key. */
  readonly key: number;
  /** The key as text (set by the caller through `label`), or undefined. */
  readonly label: string | undefined;
  /** Hits that surely were this key's: a lower bound on its true count. */
  readonly hits: number;
  /** How many more it may have had: its true count is at most hits + error. */
  readonly error: number;
}

/** What a sketch (or a merge of several) knows: its entries by `hits`, and the stream's length. */
export interface SketchSummary {
  readonly total: number;
  readonly entries: readonly SketchEntry[];
  /**
   * The most an unlisted key may have been seen (0 until the sketch is full): a key missing from
   * `entries` had at most this many hits.
   */
  readonly floor: number;
}

export class SpaceSaving {
  readonly capacity: number;
  readonly #keys: Float64Array;
  readonly #counts: Float64Array;
  readonly #errors: Float64Array;
  readonly #labels: (string | undefined)[];
  /** A min-heap of slots by count, and each slot's position in it. */
  readonly #heap: Int32Array;
  readonly #position: Int32Array;
  readonly #slots = new Map<number, number>();
  #size = 0;
  #total = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`a sketch holds at least one key, not ${capacity}`);
    }
    this.capacity = capacity;
    this.#keys = new Float64Array(capacity);
    this.#counts = new Float64Array(capacity);
    this.#errors = new Float64Array(capacity);
    this.#labels = new Array<string | undefined>(capacity).fill(undefined);
    this.#heap = new Int32Array(capacity);
    this.#position = new Int32Array(capacity);
  }

  get total(): number {
    return this.#total;
  }

  /** Counts one hit of `key`; returns the key's slot (for `wantsLabel` / `label`). */
  offer(key: number): number {
    this.#total++;
    let slot = this.#slots.get(key);
    if (slot !== undefined) {
      this.#counts[slot]!++;
      this.#siftDown(this.#position[slot]!);
      return slot;
    }
    if (this.#size < this.capacity) {
      slot = this.#size++;
      this.#counts[slot] = 1;
      this.#errors[slot] = 0;
      this.#heap[slot] = slot;
      this.#position[slot] = slot;
      this.#siftUp(slot);
    } else {
      // The least counted key gives up its slot; the newcomer may have had that many hits unseen.
      slot = this.#heap[0]!;
      this.#slots.delete(this.#keys[slot]!);
      this.#errors[slot] = this.#counts[slot]!;
      this.#counts[slot]!++;
      this.#siftDown(0);
    }
    this.#keys[slot] = key;
    this.#labels[slot] = undefined;
    this.#slots.set(key, slot);
    return slot;
  }

  /** Whether the key in `slot` has been seen twice for sure and has no text yet: worth a label. */
  wantsLabel(slot: number): boolean {
    return this.#labels[slot] === undefined && this.#counts[slot]! - this.#errors[slot]! >= 2;
  }

  label(slot: number, text: string | undefined): void {
    this.#labels[slot] = text;
  }

  /** The monitored keys, most hits first. */
  summary(): SketchSummary {
    const entries: SketchEntry[] = [];
    for (let slot = 0; slot < this.#size; slot++) {
      entries.push({
        key: this.#keys[slot]!,
        label: this.#labels[slot],
        hits: this.#counts[slot]! - this.#errors[slot]!,
        error: this.#errors[slot]!,
      });
    }
    entries.sort(byHits);
    const floor = this.#size < this.capacity ? 0 : this.#counts[this.#heap[0]!]!;
    return { total: this.#total, entries, floor };
  }

  /** Forgets everything (a new interval). */
  clear(): void {
    this.#slots.clear();
    this.#labels.fill(undefined);
    this.#size = 0;
    this.#total = 0;
  }

  #less(a: number, b: number): boolean {
    return this.#counts[this.#heap[a]!]! < this.#counts[this.#heap[b]!]!;
  }

  #swap(a: number, b: number): void {
    const heap = this.#heap;
    const slotA = heap[a]!;
    const slotB = heap[b]!;
    heap[a] = slotB;
    heap[b] = slotA;
    this.#position[slotB] = a;
    this.#position[slotA] = b;
  }

  #siftUp(at: number): void {
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!this.#less(at, parent)) return;
      this.#swap(at, parent);
      at = parent;
    }
  }

  #siftDown(at: number): void {
    const size = this.#size;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= size) return;
      const right = left + 1;
      const child = right < size && this.#less(right, left) ? right : left;
      if (!this.#less(child, at)) return;
      this.#swap(at, child);
      at = child;
    }
  }
}

function byHits(a: SketchEntry, b: SketchEntry): number {
  return b.hits - a.hits || a.key - b.key;
}

/**
 * Merges summaries of disjoint streams (workers, intervals) into one of at most `capacity` entries.
 * A key's sure hits add up where it is listed; where it is not, it may have had up to that summary's
 * floor, which goes to its error. So the merge keeps the bounds: hits ≤ true count ≤ hits + error.
 */
export function mergeSummaries(summaries: readonly SketchSummary[], capacity: number): SketchSummary {
  const merged = new Map<number, { label: string | undefined; hits: number; error: number; seen: number }>();
  let total = 0;
  let floors = 0;
  for (const summary of summaries) {
    total += summary.total;
    floors += summary.floor;
    for (const entry of summary.entries) {
      const known = merged.get(entry.key);
      if (known) {
        known.hits += entry.hits;
        known.error += entry.error;
        known.seen += summary.floor;
        known.label ??= entry.label;
      } else {
        merged.set(entry.key, {
          label: entry.label,
          hits: entry.hits,
          error: entry.error,
          seen: summary.floor,
        });
      }
    }
  }
  const entries = [...merged].map(([key, e]) => ({
    key,
    label: e.label,
    hits: e.hits,
    // The floors of the summaries that did not list it.
    error: e.error + floors - e.seen,
  }));
  entries.sort(byHits);
  const kept = entries.slice(0, capacity);
  // A key dropped here, or listed nowhere, had at most the largest of: every floor, a dropped upper bound.
  let floor = floors;
  for (const dropped of entries.slice(capacity)) floor = Math.max(floor, dropped.hits + dropped.error);
  return { total, entries: kept, floor };
}
