import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergeSummaries, SpaceSaving, type SketchSummary } from './hot-keys-sketch.js';

function trueCounts(stream: readonly number[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const key of stream) counts.set(key, (counts.get(key) ?? 0) + 1);
  return counts;
}

function sketchOf(stream: readonly number[], capacity: number): SpaceSaving {
  const sketch = new SpaceSaving(capacity);
  for (const key of stream) sketch.offer(key);
  return sketch;
}

/**
 * The guarantees a summary of `stream` must keep, whatever the stream: the ones it breaks, in words.
 * (Plain comparisons, one `expect` per summary: the exhaustive test checks ~90,000 summaries.)
 */
function brokenBounds(summary: SketchSummary, stream: readonly number[], capacity: number): string[] {
  const counts = trueCounts(stream);
  const broken: string[] = [];
  if (summary.total !== stream.length) broken.push(`total ${summary.total} is not ${stream.length}`);
  if (summary.entries.length > capacity) broken.push(`${summary.entries.length} entries > ${capacity}`);
  const listed = new Set<number>();
  for (const entry of summary.entries) {
    listed.add(entry.key);
    const count = counts.get(entry.key) ?? 0;
    if (entry.hits > count) broken.push(`key ${entry.key}: hits ${entry.hits} > count ${count}`);
    if (count > entry.hits + entry.error) {
      broken.push(`key ${entry.key}: count ${count} > hits ${entry.hits} + error ${entry.error}`);
    }
  }
  for (const [key, count] of counts) {
    if (!listed.has(key) && count > summary.floor) {
      broken.push(`unlisted key ${key}: count ${count} > floor ${summary.floor}`);
    }
  }
  for (let i = 1; i < summary.entries.length; i++) {
    if (summary.entries[i - 1]!.hits < summary.entries[i]!.hits) broken.push(`entries not by hits at ${i}`);
  }
  return broken;
}

function expectBounds(summary: SketchSummary, stream: readonly number[], capacity: number): void {
  expect(
    brokenBounds(summary, stream, capacity),
    `stream [${stream.join(',')}], capacity ${capacity}`,
  ).toEqual([]);
}

/** Every stream of `length` keys drawn from `alphabet` keys. */
function* allStreams(length: number, alphabet: number): Generator<number[]> {
  const stream = new Array<number>(length).fill(0);
  for (;;) {
    yield [...stream];
    let i = 0;
    while (i < length && ++stream[i]! === alphabet) stream[i++] = 0;
    if (i === length) return;
  }
}

describe('SpaceSaving', () => {
  it('keeps its bounds on every stream of up to 7 keys over 4 keys, at every capacity', () => {
    const broken: string[] = [];
    let checked = 0;
    for (let length = 0; length <= 7; length++) {
      for (const stream of allStreams(length, 4)) {
        for (let capacity = 1; capacity <= 4; capacity++) {
          checked++;
          for (const why of brokenBounds(sketchOf(stream, capacity).summary(), stream, capacity)) {
            broken.push(`stream [${stream.join(',')}], capacity ${capacity}: ${why}`);
          }
        }
      }
    }
    expect(broken.slice(0, 10)).toEqual([]);
    expect(checked).toBe(4 * ((4 ** 8 - 1) / 3));
  });

  it('counts exactly while it has room', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 15 }), { maxLength: 300 }), (stream) => {
        const summary = sketchOf(stream, 16).summary();
        const counts = trueCounts(stream);
        expect(summary.floor).toBe(0);
        expect(new Map(summary.entries.map((e) => [e.key, e.hits]))).toEqual(counts);
        expect(summary.entries.every((e) => e.error === 0)).toBe(true);
      }),
    );
  });

  it('keeps its bounds on skewed streams, and monitors every key seen more than total / capacity times', () => {
    const skewed = fc.array(
      fc.oneof(
        { weight: 3, arbitrary: fc.integer({ min: 0, max: 3 }) },
        { weight: 2, arbitrary: fc.integer({ min: 0, max: 1_000_000 }) },
      ),
      { maxLength: 2000 },
    );
    fc.assert(
      fc.property(skewed, fc.integer({ min: 1, max: 40 }), (stream, capacity) => {
        const summary = sketchOf(stream, capacity).summary();
        expectBounds(summary, stream, capacity);
        const listed = new Set(summary.entries.map((e) => e.key));
        for (const [key, count] of trueCounts(stream)) {
          if (count > stream.length / capacity) expect(listed.has(key)).toBe(true);
        }
        // Space-Saving's counts (hits + error) add up to the stream's length once it is full.
        if (summary.entries.length === capacity) {
          expect(summary.entries.reduce((sum, e) => sum + e.hits + e.error, 0)).toBe(stream.length);
        }
      }),
    );
  });

  it('asks for a label once a key is surely seen twice, and forgets it when the slot is taken', () => {
    const sketch = new SpaceSaving(2);
    const a = sketch.offer(7);
    expect(sketch.wantsLabel(a)).toBe(false);
    expect(sketch.offer(7)).toBe(a);
    expect(sketch.wantsLabel(a)).toBe(true);
    sketch.label(a, '7');
    expect(sketch.wantsLabel(a)).toBe(false);
    sketch.offer(8);
    const c = sketch.offer(9); // takes 8's slot: 9's hit is not sure to be twice
    expect(sketch.wantsLabel(c)).toBe(false);
    expect(sketch.summary().entries.map((e) => [e.key, e.label])).toEqual([
      [7, '7'],
      [9, undefined],
    ]);
    sketch.clear();
    expect(sketch.summary()).toEqual({ total: 0, entries: [], floor: 0 });
    expect(() => new SpaceSaving(0)).toThrow(/at least one key/);
  });
});

describe('mergeSummaries', () => {
  it('keeps the bounds of the concatenated stream, for any split and capacity', () => {
    const keys = fc.oneof(
      { weight: 2, arbitrary: fc.integer({ min: 0, max: 5 }) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 500 }) },
    );
    fc.assert(
      fc.property(
        fc.array(fc.array(keys, { maxLength: 400 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 12 }),
        (streams, capacity, mergedCapacity) => {
          const merged = mergeSummaries(
            streams.map((stream) => sketchOf(stream, capacity).summary()),
            mergedCapacity,
          );
          expectBounds(merged, streams.flat(), mergedCapacity);
        },
      ),
    );
  });

  it('adds exact counts of summaries with room, and takes the first label it finds', () => {
    const a = new SpaceSaving(4);
    const b = new SpaceSaving(4);
    for (const key of [1, 1, 2]) a.label(a.offer(key), `k${key}`);
    for (const key of [1, 3, 3, 3]) b.offer(key);
    const merged = mergeSummaries([a.summary(), b.summary()], 4);
    expect(merged).toEqual({
      total: 7,
      floor: 0,
      entries: [
        { key: 1, label: 'k1', hits: 3, error: 0 },
        { key: 3, label: undefined, hits: 3, error: 0 },
        { key: 2, label: 'k2', hits: 1, error: 0 },
      ],
    });
    expect(mergeSummaries([], 3)).toEqual({ total: 0, entries: [], floor: 0 });
  });
});
