import { describe, expect, it } from 'vitest';
import { members, ringConformance, testKeys } from '../conformance.suite.js';
import { KetamaRing } from '../ketama/ketama-ring.js';
import { MaglevRing } from '../maglev/maglev-ring.js';
import { RendezvousRing } from '../rendezvous/rendezvous-ring.js';
import type { Ring, RingMember } from '../ring.js';
import { BoundedLoadRing, unbounded } from './bounded-load-ring.js';
import { simulateLoad } from './load-simulation.js';

// With no requests in flight, bounded loads must not change anything the inner ring guarantees.
ringConformance('bounded loads over ketama (idle)', {
  build: (list) => new BoundedLoadRing(new KetamaRing(list), new Int32Array(list.length), 1.25),
  balance: { maxRatio: 1.25 },
  movement: { othersMoved: 0 },
  weights: { tolerance: 0.12 },
  shares: { tolerance: 0.005 },
});

const inners: [string, (list: readonly RingMember[]) => Ring][] = [
  ['ketama', (list) => new KetamaRing(list)],
  ['maglev', (list) => new MaglevRing(list)],
  ['rendezvous', (list) => new RendezvousRing(list)],
];

function simulate(ring: BoundedLoadRing, loads: Int32Array, inFlight: number, hotShare: number) {
  return simulateLoad(ring, ring.inner, loads, { arrivals: 20_000, inFlight, hotShare, boundFactor: 1.25 });
}

describe('BoundedLoadRing', () => {
  for (const [name, build] of inners) {
    it(`keeps every in-flight count within ceil(1.25 × mean) + 1 with a 50 % hot key (${name})`, () => {
      for (const [n, inFlight] of [
        [3, 30],
        [8, 64],
        [20, 200],
      ] as const) {
        const loads = new Int32Array(n);
        const ring = new BoundedLoadRing(build(members(n)), loads, 1.25);
        const { worstExcess, hotOnOwnerShare } = simulate(ring, loads, inFlight, 0.5);
        expect(worstExcess).toBeLessThanOrEqual(0);
        // The hot key's own member is not starved: it keeps taking its capped part of the hot traffic.
        expect(hotOnOwnerShare).toBeGreaterThan(1 / n);
      }
    });

    it(`without the bound the hot key's member is overloaded (${name}: the test can fail)`, () => {
      const loads = new Int32Array(8);
      const ring = new BoundedLoadRing(build(members(8)), loads, 100);
      expect(simulate(ring, loads, 64, 0.5).worstExcess).toBeGreaterThan(5);
    });
  }

  it('picks like the inner ring while no member is at its cap', () => {
    const inner = new KetamaRing(members(5));
    const ring = new BoundedLoadRing(inner, new Int32Array(5), 1.25);
    for (const key of testKeys(2000)) expect(ring.pick(key)).toBe(inner.pick(key));
    expect(unbounded(ring)).toBe(inner);
    expect(unbounded(inner)).toBe(inner);
    expect(ring.shares()).toEqual(inner.shares());
  });

  it('skips a member at its cap for the next one in the inner order, and lists it last for retries', () => {
    const inner = new MaglevRing(members(4));
    const loads = new Int32Array(4);
    const ring = new BoundedLoadRing(inner, loads, 1.25);
    const key = 12345;
    const order = [0, 1, 2, 3].map((a) => inner.pick(key, a));
    // 8 in flight, all on the key's owner: cap = ceil(1.25 × 9 / 4) = 3.
    loads[order[0]!] = 8;
    expect(ring.cap()).toBe(3);
    expect([0, 1, 2, 3].map((a) => ring.pick(key, a))).toEqual([order[1], order[2], order[3], order[0]]);
    expect(ring.pick(key, 4)).toBe(-1);
    // 1 in flight on each: cap = ceil(1.25 × 5 / 4) = 2, so the owner takes the key again.
    loads.fill(1);
    expect(ring.pick(key)).toBe(order[0]);
  });

  it('picks -1 when empty', () => {
    expect(new BoundedLoadRing(new KetamaRing([]), new Int32Array(0), 1.25).pick(1)).toBe(-1);
  });
});
