import { describe, expect, it } from 'vitest';
import { ClassicRing, classicCapacity, requestSlot, virtualNodeSlot } from './classic-ring.js';
import type { RingMember } from '../ring.js';

function members(...numbers: number[]): RingMember[] {
  return numbers.map((number) => ({ number, name: `Server ${number}` }));
}

/**
 * A literal transcription of the seed's procedure, kept deliberately naive: a slot array filled
 * replica after replica in the order they were added, probing one slot at a time, and a request that
 * walks clockwise from H(i) until it meets a virtual node.
 */
function seedReference(numbers: number[], ringSize: number, vnodes: number) {
  const slots: (number | null)[] = new Array(ringSize).fill(null);
  for (const i of numbers) {
    for (let j = 0; j < vnodes; j++) {
      let slot = (i * i + j * j + 2 * j + 25) % ringSize;
      while (slots[slot] !== null) slot = (slot + 1) % ringSize;
      slots[slot] = i;
    }
  }
  return {
    slots,
    route(id: number): number | null {
      let slot = (id * id + 2 * id + 17) % ringSize;
      for (let n = 0; n < ringSize; n++, slot = (slot + 1) % ringSize) {
        if (slots[slot] !== null) return slots[slot]!;
      }
      return null;
    },
  };
}

describe('classic ring formulas', () => {
  it('H(i) = i² + 2i + 17 mod M', () => {
    expect(requestSlot(0, 512)).toBe(17);
    expect(requestSlot(1, 512)).toBe(20);
    expect(requestSlot(123456, 512)).toBe((123456 * 123456 + 2 * 123456 + 17) % 512);
    for (let i = 0; i < 5000; i++) expect(requestSlot(i, 512)).toBe((i * i + 2 * i + 17) % 512);
  });

  it('H stays exact for ids whose square is beyond 2^53, and for negative ids', () => {
    const id = 9_007_199_254_740_991; // Number.MAX_SAFE_INTEGER
    const big = BigInt(id);
    expect(requestSlot(id, 512)).toBe(Number((big * big + 2n * big + 17n) % 512n));
    expect(requestSlot(id, 509)).toBe(Number((big * big + 2n * big + 17n) % 509n));
    // -3: 9 - 6 + 17 = 20
    expect(requestSlot(-3, 512)).toBe(20);
  });

  it('Φ(i, j) = i² + j² + 2j + 25 mod M', () => {
    expect(virtualNodeSlot(1, 0, 512)).toBe(26);
    expect(virtualNodeSlot(3, 8, 512)).toBe((9 + 64 + 16 + 25) % 512);
    expect(virtualNodeSlot(40, 8, 512)).toBe((1600 + 64 + 16 + 25) % 512);
  });
});

describe('ClassicRing', () => {
  it('places the three default replicas where the formulas and linear probing put them', () => {
    const ring = new ClassicRing(members(1, 2, 3));
    const placed = new Map<number, number[]>();
    ring.placement.forEach((index, slot) => {
      if (index < 0) return;
      const number = ring.members[index]!.number;
      placed.set(number, [...(placed.get(number) ?? []), slot]);
    });
    // Server 1: Φ(1, j) = 26 + j² + 2j, no collisions.
    expect(placed.get(1)).toEqual([26, 29, 34, 41, 50, 61, 74, 89, 106]);
    // Server 2: Φ(2, 0) = 29 is Server 1's, so it probes to 30.
    expect(placed.get(2)).toEqual([30, 32, 37, 44, 53, 64, 77, 92, 109]);
    // Server 3: Φ(3, 0) = 34 → 35 and Φ(3, 1) = 37 → 38.
    expect(placed.get(3)).toEqual([35, 38, 42, 49, 58, 69, 82, 97, 114]);
    // Request 1 lands on slot 20; the first virtual node clockwise is Server 1's at 26.
    expect(ring.members[ring.pick(1)]!.name).toBe('Server 1');
    // Request 0 lands on slot 17 → 26 as well; a slot after 114 wraps to 26.
    expect(ring.members[ring.pick(0)]!.name).toBe('Server 1');
  });

  for (const [ringSize, vnodes] of [
    [512, 9],
    [512, 3],
    [101, 5],
    [64, 4],
  ] as const) {
    it(`routes every id like the seed's procedure (M=${ringSize}, K=${vnodes}, N=1..8)`, () => {
      for (let n = 1; n <= Math.min(8, Math.floor(ringSize / vnodes)); n++) {
        const numbers = Array.from({ length: n }, (_, k) => k + 1);
        const reference = seedReference(numbers, ringSize, vnodes);
        const ring = new ClassicRing(members(...numbers), { ringSize, vnodes });
        ring.placement.forEach((index, slot) => {
          expect(index < 0 ? null : ring.members[index]!.number).toBe(reference.slots[slot]);
        });
        for (let id = 0; id < 3000; id++) {
          expect(ring.members[ring.pick(id)]!.number).toBe(reference.route(id));
        }
      }
    });
  }

  it('is the same ring whatever order the members are given in', () => {
    const a = new ClassicRing(members(1, 2, 3, 4, 5));
    const b = new ClassicRing(members(4, 2, 5, 1, 3));
    expect(Array.from(b.placement)).toEqual(Array.from(a.placement));
    for (let id = 0; id < 2000; id++) expect(b.members[b.pick(id)]).toEqual(a.members[a.pick(id)]);
  });

  it('sends the same id to the same replica while membership is unchanged', () => {
    const ring = new ClassicRing(members(1, 2, 3));
    for (let id = 100000; id < 101000; id++) {
      const first = ring.pick(id);
      for (let again = 0; again < 3; again++) expect(ring.pick(id)).toBe(first);
    }
  });

  it('gives a replacement with the same number exactly the positions of the replica it replaces', () => {
    const before = new ClassicRing(members(1, 2, 3));
    const after = new ClassicRing([
      { number: 1, name: 'Server 1' },
      { number: 2, name: 'Server 2' },
      { number: 3, name: 'Server 3' },
    ]);
    expect(Array.from(after.placement)).toEqual(Array.from(before.placement));
  });

  it('names the next distinct replicas clockwise for retries, and -1 past the last', () => {
    const ring = new ClassicRing(members(1, 2, 3));
    // Request 1 → slot 20 → 26 (Server 1), then 30 (Server 2), then 35 (Server 3).
    expect([0, 1, 2].map((attempt) => ring.members[ring.pick(1, attempt)]!.number)).toEqual([1, 2, 3]);
    expect(ring.pick(1, 3)).toBe(-1);
    for (let id = 0; id < 500; id++) {
      const order = [0, 1, 2].map((attempt) => ring.pick(id, attempt));
      expect(new Set(order).size).toBe(3);
    }
  });

  it('picks nothing when empty, and shares sum to one otherwise', () => {
    expect(new ClassicRing([]).pick(5)).toBe(-1);
    expect(new ClassicRing([]).shares()).toEqual([]);
    const shares = new ClassicRing(members(1, 2, 3)).shares();
    expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    // The seed's quadratic placement clusters all virtual nodes in slots 26..114: Server 1 owns the wrap.
    expect(shares[0]).toBeGreaterThan(0.8);
  });

  it('refuses more replicas than the ring has slots for', () => {
    expect(classicCapacity({ ringSize: 512, vnodes: 9 })).toBe(56);
    const numbers = Array.from({ length: 57 }, (_, k) => k + 1);
    expect(() => new ClassicRing(members(...numbers))).toThrow(/at most 56 replicas/);
    expect(() => new ClassicRing(members(...numbers.slice(0, 56)))).not.toThrow();
  });
});
