import { xxh32Int, xxh32String } from '../../core/xxhash32.js';
import { byNumber, type Ring, type RingMember } from '../ring.js';
import { SeenSet } from '../seen-set.js';
import { weightOf } from '../weights.js';

/**
 * Ketama-style consistent hashing: each member owns `points × weight` points on a 2^32 circle, point
 * j of a member at xxh32(j) seeded with xxh32(member name), so a replica's points follow its name
 * (never its address) and a replacement lands exactly where the dead one stood. A key goes to the
 * first point clockwise from xxh32 of the key. Finding that point is a bucket lookup by the hash's top
 * bits and a short scan, not a binary search: measured here, a binary search's unpredictable branches
 * cost ~150 ns per pick against ~25 ns for the buckets (npm run bench:ring).
 */
export interface KetamaOptions {
  /** Points per member of weight 1 (libketama and Envoy's ring use 100–160). */
  readonly points: number;
}

export const KETAMA_DEFAULTS: KetamaOptions = { points: 160 };

/** Point positions are packed with their member index as position × 2^21 + index (exact in a double). */
const INDEX_SPAN = 2 ** 21;
const CIRCLE = 2 ** 32;

export class KetamaRing implements Ring {
  readonly members: readonly RingMember[];
  /** Sorted point positions (unsigned 32-bit), and the member index owning each. */
  readonly positions: Uint32Array;
  readonly owners: Int32Array;
  /** bucket b → index of the first point at or after b × 2^shift; one bucket per point or so. */
  readonly #bucketStart: Int32Array;
  readonly #shift: number;
  readonly #seen: SeenSet;

  constructor(members: readonly RingMember[], options: KetamaOptions = KETAMA_DEFAULTS) {
    this.members = [...members].sort(byNumber);
    const counts = this.members.map((m) => Math.max(1, Math.round(options.points * weightOf(m))));
    const packed = new Float64Array(counts.reduce((a, b) => a + b, 0));
    let k = 0;
    this.members.forEach((member, index) => {
      const seed = xxh32String(member.name);
      for (let j = 0; j < counts[index]!; j++) packed[k++] = xxh32Int(j, seed) * INDEX_SPAN + index;
    });
    // Ties on a position (rare) break by member number, so the ring does not depend on input order.
    packed.sort();
    this.positions = new Uint32Array(packed.length);
    this.owners = new Int32Array(packed.length);
    for (let p = 0; p < packed.length; p++) {
      this.positions[p] = Math.floor(packed[p]! / INDEX_SPAN);
      this.owners[p] = packed[p]! % INDEX_SPAN;
    }
    const bits = Math.min(20, Math.max(1, Math.ceil(Math.log2(Math.max(2, packed.length)))));
    this.#shift = 32 - bits;
    this.#bucketStart = new Int32Array((1 << bits) + 1);
    let point = 0;
    for (let bucket = 0; bucket <= 1 << bits; bucket++) {
      const start = bucket * 2 ** this.#shift;
      while (point < this.positions.length && this.positions[point]! < start) point++;
      this.#bucketStart[bucket] = point;
    }
    this.#seen = new SeenSet(this.members.length);
  }

  /** Index of the first point at or after the key's position, cycling back to the first point. */
  #firstPoint(key: number): number {
    const hash = xxh32Int(key);
    const positions = this.positions;
    const bucket = hash >>> this.#shift;
    let point = this.#bucketStart[bucket]!;
    const end = this.#bucketStart[bucket + 1]!;
    while (point < end && positions[point]! < hash) point++;
    // Past the last point: cycled back to the first one.
    return point === positions.length ? 0 : point;
  }

  pick(key: number, attempt = 0): number {
    const n = this.members.length;
    if (n === 0 || attempt >= n) return -1;
    const first = this.#firstPoint(key);
    if (attempt === 0) return this.owners[first]!;
    const points = this.owners.length;
    this.#seen.clear();
    let distinct = 0;
    for (let step = 0; step < points; step++) {
      const index = this.owners[(first + step) % points]!;
      if (!this.#seen.add(index)) continue;
      if (distinct === attempt) return index;
      distinct++;
    }
    return -1;
  }

  shares(): number[] {
    const shares = new Array<number>(this.members.length).fill(0);
    const points = this.positions.length;
    for (let p = 0; p < points; p++) {
      // Point p owns the keys after the previous point up to itself; the first one also the wrap.
      const previous = p === 0 ? this.positions[points - 1]! - CIRCLE : this.positions[p - 1]!;
      shares[this.owners[p]!]! += (this.positions[p]! - previous) / CIRCLE;
    }
    return shares;
  }
}
