import { seededRandom } from '../core/seeded-random.js';
import { movedFraction } from '../ring/moved.js';
import { byNumber, type Ring, type RingMember } from '../ring/ring.js';

/**
 * The pure, in-process parts of the analysis: keys per replica and how they spread, and how many keys
 * move when one replica joins or leaves, over the real ring implementations.
 */
export type Build = (members: readonly RingMember[]) => Ring;

export function serverMembers(count: number): RingMember[] {
  return Array.from({ length: count }, (_, k) => ({ number: k + 1, name: `Server ${k + 1}` }));
}

/** Uniform random keys below 2^40 (request ids and string hashes alike), from a fixed seed. */
export function randomKeys(count: number, seed = 2026): Float64Array {
  const random = seededRandom(seed);
  const keys = new Float64Array(count);
  // Two draws: one has only 32 random bits, which × 2^40 would leave every key a multiple of 256.
  for (let i = 0; i < count; i++) {
    keys[i] = Math.floor(random() * 2 ** 20) * 2 ** 20 + Math.floor(random() * 2 ** 20);
  }
  return keys;
}

/** The seed's client ids: random 6-digit integers, from a fixed seed. */
export function sixDigitIds(count: number, seed = 2026): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => 100_000 + Math.floor(random() * 900_000));
}

export function keyCounts(ring: Ring, keys: ArrayLike<number>): number[] {
  const counts = new Array<number>(ring.members.length).fill(0);
  for (let i = 0; i < keys.length; i++) counts[ring.pick(keys[i]!)]!++;
  return counts;
}

export interface LoadStats {
  readonly n: number;
  readonly total: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
  /** max / mean: 1 is perfect balance. */
  readonly maxOverMean: number;
  readonly stddev: number;
  /** Coefficient of variation: stddev / mean. */
  readonly cv: number;
}

export function loadStats(counts: readonly number[]): LoadStats {
  const n = counts.length;
  const total = counts.reduce((a, b) => a + b, 0);
  const mean = n === 0 ? 0 : total / n;
  const variance = n === 0 ? 0 : counts.reduce((a, c) => a + (c - mean) ** 2, 0) / n;
  const stddev = Math.sqrt(variance);
  const max = n === 0 ? 0 : Math.max(...counts);
  return {
    n,
    total,
    mean,
    min: n === 0 ? 0 : Math.min(...counts),
    max,
    maxOverMean: mean === 0 ? 0 : max / mean,
    stddev,
    cv: mean === 0 ? 0 : stddev / mean,
  };
}

/** Fraction of keys that move when replica N+1 joins N replicas; the ideal is 1/(N+1). */
export function movedOnJoin(build: Build, n: number, keys: number): number {
  return movedFraction(build(serverMembers(n)), build(serverMembers(n + 1)), keys);
}

/** Fraction of keys that move when the middle replica of N leaves; the ideal is 1/N. */
export function movedOnLeave(build: Build, n: number, keys: number): number {
  const all = serverMembers(n);
  const leaving = Math.ceil(n / 2);
  return movedFraction(build(all), build(all.filter((m) => m.number !== leaving)), keys);
}

/**
 * The seed's ring structure (slots, virtual nodes, linear probing, first virtual node clockwise) with
 * the slot functions as parameters, so A-4 can swap the seed's quadratic hashes for a real one and
 * show which of structure and hash makes the imbalance. Only attempt 0 is needed there.
 */
export class SlotRing implements Ring {
  readonly members: readonly RingMember[];
  readonly #owner: Int32Array;
  readonly #requestSlot: (id: number) => number;

  constructor(
    members: readonly RingMember[],
    ringSize: number,
    vnodes: number,
    requestSlot: (id: number) => number,
    vnodeSlot: (replica: number, vnode: number) => number,
  ) {
    this.members = [...members].sort(byNumber);
    this.#requestSlot = requestSlot;
    const placement = new Int32Array(ringSize).fill(-1);
    this.members.forEach((member, index) => {
      for (let j = 0; j < vnodes; j++) {
        let slot = vnodeSlot(member.number, j);
        while (placement[slot] !== -1) slot = (slot + 1) % ringSize;
        placement[slot] = index;
      }
    });
    this.#owner = new Int32Array(ringSize).fill(-1);
    let next = -1;
    for (let step = 2 * ringSize - 1; step >= 0 && this.members.length > 0; step--) {
      if (placement[step % ringSize] !== -1) next = placement[step % ringSize]!;
      this.#owner[step % ringSize] = next;
    }
  }

  pick(key: number, attempt = 0): number {
    if (attempt > 0 || this.members.length === 0) return -1;
    return this.#owner[this.#requestSlot(key)]!;
  }

  shares(): number[] {
    const counts = new Array<number>(this.members.length).fill(0);
    for (const index of this.#owner) if (index >= 0) counts[index]!++;
    return counts.map((c) => c / this.#owner.length);
  }
}
