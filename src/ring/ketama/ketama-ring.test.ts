import { describe, expect, it } from 'vitest';
import { xxh32Int, xxh32String } from '../../core/xxhash32.js';
import { members, ringConformance } from '../conformance.suite.js';
import { KetamaRing } from './ketama-ring.js';

ringConformance('ketama', {
  build: (list) => new KetamaRing(list),
  balance: { maxRatio: 1.25 },
  movement: { othersMoved: 0 },
  weights: { tolerance: 0.12 },
  shares: { tolerance: 0.005 },
});

describe('KetamaRing', () => {
  it('places point j of a member at xxh32(j) seeded with xxh32(name), sorted', () => {
    const ring = new KetamaRing([{ number: 1, name: 'Server 1' }], { points: 4 });
    const seed = xxh32String('Server 1');
    const expected = [0, 1, 2, 3].map((j) => xxh32Int(j, seed)).sort((a, b) => a - b);
    expect(Array.from(ring.positions)).toEqual(expected);
    expect(Array.from(ring.owners)).toEqual([0, 0, 0, 0]);
  });

  it('sends a key to the first point at or after xxh32(key), wrapping past the last', () => {
    const ring = new KetamaRing(members(3), { points: 3 });
    const { positions, owners } = ring;
    for (let key = 0; key < 2000; key++) {
      const hash = xxh32Int(key);
      let point = positions.findIndex((p) => p >= hash);
      if (point < 0) point = 0;
      expect(ring.pick(key)).toBe(owners[point]);
    }
  });

  it('gives each member points × weight points, at least one', () => {
    const ring = new KetamaRing(
      [
        { number: 1, name: 'a', weight: 2 },
        { number: 2, name: 'b', weight: 0.5 },
        { number: 3, name: 'c', weight: 0.001 },
      ],
      { points: 160 },
    );
    const perMember = [0, 0, 0];
    for (const owner of ring.owners) perMember[owner]!++;
    expect(perMember).toEqual([320, 80, 1]);
  });

  it('refuses a weight that is not a positive number', () => {
    expect(() => new KetamaRing([{ number: 1, name: 'a', weight: 0 }])).toThrow(/weight must be a positive/);
    expect(() => new KetamaRing([{ number: 1, name: 'a', weight: NaN }])).toThrow(/weight/);
  });

  it('places a member by its name, not its number', () => {
    const a = new KetamaRing([{ number: 1, name: 'web' }], { points: 8 });
    const b = new KetamaRing([{ number: 5, name: 'web' }], { points: 8 });
    expect(Array.from(b.positions)).toEqual(Array.from(a.positions));
  });
});
