import { describe, expect, it } from 'vitest';
import { members, ringConformance, testKeys } from '../conformance.suite.js';
import { isPrime, MaglevRing, maglevTableProblem } from './maglev-ring.js';

ringConformance('maglev', {
  build: (list) => new MaglevRing(list),
  balance: { maxRatio: 1.03 },
  // Maglev trades a little extra movement for balance (the paper's §5.3; envoyproxy/envoy#22558).
  movement: { othersMoved: 0.02 },
  weights: { tolerance: 0.02 },
  shares: { tolerance: 0.005 },
});

ringConformance('maglev (small table, 1009 entries)', {
  build: (list) => new MaglevRing(list, { tableSize: 1009 }),
  balance: { maxRatio: 1.05 },
  movement: { othersMoved: 0.05 },
  weights: { tolerance: 0.03 },
  shares: { tolerance: 0.005 },
});

describe('MaglevRing', () => {
  it('fills every entry, each member within one entry of M / N', () => {
    for (const n of [1, 2, 3, 7, 10, 64]) {
      const ring = new MaglevRing(members(n));
      const counts = new Array<number>(n).fill(0);
      for (const index of ring.table) counts[index]!++;
      expect(Math.min(...counts)).toBeGreaterThanOrEqual(Math.floor(65537 / n) - 1);
      expect(Math.max(...counts)).toBeLessThanOrEqual(Math.ceil(65537 / n) + 1);
    }
  });

  it('gives weights their proportion of the table', () => {
    const ring = new MaglevRing([
      { number: 1, name: 'a', weight: 3 },
      { number: 2, name: 'b', weight: 1 },
    ]);
    const shares = ring.shares();
    expect(shares[0]).toBeCloseTo(0.75, 3);
    expect(shares[1]).toBeCloseTo(0.25, 3);
  });

  it('refuses a table size that is not prime, naming the nearest primes', () => {
    expect(() => new MaglevRing(members(3), { tableSize: 65536 })).toThrow(
      'the maglev table size must be a prime number; 65536 is not (nearest primes: 65521, 65537)',
    );
    expect(maglevTableProblem(2)).toMatch(/from 3 to/);
    expect(maglevTableProblem(65537)).toBeUndefined();
    expect(maglevTableProblem(1.5)).toMatch(/integer/);
  });

  it('knows its primes', () => {
    const small = Array.from({ length: 60 }, (_, n) => n).filter(isPrime);
    expect(small).toEqual([2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59]);
    expect([65537, 5_000_011, 1009].every(isPrime)).toBe(true);
    expect([65535, 1_000_001, 1].some(isPrime)).toBe(false);
  });

  it('refuses more members than entries', () => {
    expect(() => new MaglevRing(members(4), { tableSize: 3 })).toThrow(/holds at most 3 replicas/);
  });

  it('looks a key up in one entry: xxh32(key) mod M', () => {
    const ring = new MaglevRing(members(4), { tableSize: 1009 });
    for (const key of testKeys(500)) expect(ring.members[ring.pick(key)]).toBeDefined();
  });
});
