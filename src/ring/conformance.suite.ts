import { describe, expect, it } from 'vitest';
import { seededRandom } from '../core/seeded-random.js';
import type { Ring, RingMember } from './ring.js';

export const seeded = seededRandom;

/**
 * The behaviour every ring algorithm is held to; each algorithm's test calls `ringConformance`. A
 * property an algorithm does not have is skipped with its reason, never silently.
 */
export type Check<T> = T | { readonly skip: string };

export interface ConformanceOptions {
  readonly build: (members: readonly RingMember[]) => Ring;
  /** Largest allowed max/mean keys per member, 10 members, 200k keys. */
  readonly balance: Check<{ readonly maxRatio: number }>;
  /** When one of 8 members leaves, the largest fraction of the other members' keys that may move. */
  readonly movement: Check<{ readonly othersMoved: number }>;
  /** A member of weight 2 owns twice a weight-1 member's keys, within this relative tolerance. */
  readonly weights: Check<{ readonly tolerance: number }>;
  /** `shares()` equals the fraction of keys each member receives, within this absolute tolerance. */
  readonly shares: Check<{ readonly tolerance: number }>;
}

export function members(count: number, first = 1): RingMember[] {
  return Array.from({ length: count }, (_, k) => ({ number: first + k, name: `Server ${first + k}` }));
}

/** Keys as they reach `pick`: small consecutive ids, the seed's 6-digit ids and 32-bit string hashes. */
export function testKeys(count: number, seed = 1): number[] {
  const random = seeded(seed);
  return Array.from({ length: count }, (_, k) => {
    if (k % 3 === 0) return k;
    if (k % 3 === 1) return 100_000 + Math.floor(random() * 900_000);
    return Math.floor(random() * 4294967296);
  });
}

function owners(ring: Ring, keys: readonly number[]): (string | undefined)[] {
  return keys.map((key) => ring.members[ring.pick(key)]?.name);
}

function counts(ring: Ring, keys: readonly number[]): number[] {
  const result = new Array<number>(ring.members.length).fill(0);
  for (const key of keys) result[ring.pick(key)]!++;
  return result;
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

function checkIt<T>(name: string, check: Check<T>, body: (value: T) => void): void {
  if (typeof check === 'object' && check !== null && 'skip' in check) {
    it.skip(`${name} (skipped: ${check.skip})`, () => {});
  } else {
    it(name, () => body(check as T));
  }
}

export function ringConformance(name: string, options: ConformanceOptions): void {
  const { build } = options;

  describe(`${name}: ring conformance`, () => {
    it('picks -1 and has no shares when empty', () => {
      const ring = build([]);
      expect(ring.members).toEqual([]);
      expect(ring.pick(5)).toBe(-1);
      expect(ring.pick(5, 1)).toBe(-1);
      expect(ring.shares()).toEqual([]);
    });

    it('sends every key to the only member, and has no second choice', () => {
      const ring = build(members(1, 7));
      for (const key of testKeys(300)) {
        expect(ring.pick(key)).toBe(0);
        expect(ring.pick(key, 1)).toBe(-1);
      }
      expect(ring.shares()).toEqual([1]);
    });

    it('is deterministic: two builds of the same members pick alike, and a key keeps its member', () => {
      const keys = testKeys(20_000);
      const a = build(members(6));
      const b = build(members(6));
      const first = owners(a, keys);
      expect(owners(b, keys)).toEqual(first);
      expect(owners(a, keys)).toEqual(first);
    });

    it('does not depend on the order the members are listed in', () => {
      const keys = testKeys(20_000);
      const sorted = build(members(9));
      const random = seeded(7);
      for (let round = 0; round < 3; round++) {
        const other = build(shuffled(members(9), random));
        expect(other.members).toEqual(sorted.members);
        expect(owners(other, keys)).toEqual(owners(sorted, keys));
      }
    });

    it('names every member once over attempts 0..N-1 (retry order), and -1 past them', () => {
      const ring = build(members(5));
      for (const key of testKeys(600)) {
        const order = [0, 1, 2, 3, 4].map((attempt) => ring.pick(key, attempt));
        expect(order[0]).toBe(ring.pick(key));
        expect(new Set(order).size).toBe(5);
        expect(order.every((index) => index >= 0 && index < 5)).toBe(true);
        expect(ring.pick(key, 5)).toBe(-1);
      }
    });

    checkIt('has shares that sum to 1 and match the keys each member receives', options.shares, (check) => {
      const ring = build(members(7));
      const shares = ring.shares();
      expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
      const received = counts(ring, testKeys(200_000, 3));
      received.forEach((count, index) =>
        expect(Math.abs(count / 200_000 - shares[index]!)).toBeLessThan(check.tolerance),
      );
    });

    checkIt('moves only the leaving member’s keys (and hardly any other)', options.movement, (check) => {
      const keys = testKeys(100_000, 5);
      const all = members(8);
      const before = owners(build(all), keys);
      const after = owners(build(all.filter((m) => m.number !== 3)), keys);
      let others = 0;
      let othersMoved = 0;
      before.forEach((owner, k) => {
        if (owner === 'Server 3') expect(after[k]).not.toBe('Server 3');
        else {
          others++;
          if (after[k] !== owner) othersMoved++;
        }
      });
      expect(othersMoved / others).toBeLessThanOrEqual(check.othersMoved);
    });

    checkIt('moves keys only to a joining member (and hardly any other)', options.movement, (check) => {
      const keys = testKeys(100_000, 6);
      const before = owners(build(members(8)), keys);
      const after = owners(build(members(9)), keys);
      let between = 0;
      after.forEach((owner, k) => {
        if (owner !== before[k] && owner !== 'Server 9') between++;
      });
      expect(between / keys.length).toBeLessThanOrEqual(check.othersMoved);
    });

    checkIt('balances 200k keys over 10 members within the stated bound', options.balance, (check) => {
      const received = counts(build(members(10)), testKeys(200_000, 9));
      const mean = 200_000 / 10;
      expect(Math.max(...received) / mean).toBeLessThanOrEqual(check.maxRatio);
      expect(Math.min(...received) / mean).toBeGreaterThanOrEqual(2 - check.maxRatio);
    });

    checkIt('gives a member of weight 2 twice the keys of a member of weight 1', options.weights, (check) => {
      const weighted = members(6).map((m) => (m.number === 2 ? { ...m, weight: 2 } : m));
      const ring = build(weighted);
      const received = counts(ring, testKeys(200_000, 11));
      const heavy = received[ring.members.findIndex((m) => m.number === 2)]!;
      const light = (200_000 - heavy) / 5;
      expect(Math.abs(heavy / light - 2) / 2).toBeLessThanOrEqual(check.tolerance);
      const shares = ring.shares();
      expect(Math.abs(shares[1]! / ((1 - shares[1]!) / 5) - 2) / 2).toBeLessThanOrEqual(check.tolerance);
    });
  });
}
