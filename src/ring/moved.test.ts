import { describe, expect, it } from 'vitest';
import { BoundedLoadRing } from './bounded/bounded-load-ring.js';
import { ClassicRing } from './classic/classic-ring.js';
import { members } from './conformance.suite.js';
import { KetamaRing } from './ketama/ketama-ring.js';
import { MaglevRing } from './maglev/maglev-ring.js';
import { movedFraction } from './moved.js';
import { RendezvousRing } from './rendezvous/rendezvous-ring.js';

describe('movedFraction', () => {
  it('is 0 between identical rings and between two empty rings', () => {
    expect(movedFraction(new KetamaRing(members(4)), new KetamaRing(members(4)))).toBe(0);
    expect(movedFraction(new KetamaRing([]), new MaglevRing([]))).toBe(0);
  });

  it('is 1 from or to an empty ring', () => {
    expect(movedFraction(new KetamaRing([]), new KetamaRing(members(2)))).toBe(1);
    expect(movedFraction(new MaglevRing(members(2)), new MaglevRing([]))).toBe(1);
  });

  it("equals the leaving member's share when only its keys move", () => {
    const before = new RendezvousRing(members(5));
    const after = new RendezvousRing(members(5).filter((m) => m.number !== 2));
    expect(movedFraction(before, after)).toBeCloseTo(before.shares()[1]!, 9);
  });

  it('compares owners by name, so a renamed member at the same number counts as moved', () => {
    const before = new ClassicRing(members(3));
    const after = new ClassicRing([...members(2), { number: 3, name: 'Other' }]);
    // The classic ring places by number, so exactly the keys of number 3 change owner's name.
    let third = 0;
    for (let key = 0; key < 1 << 16; key++) if (before.pick(key) === 2) third++;
    expect(third).toBeGreaterThan(0);
    expect(movedFraction(before, after)).toBe(third / (1 << 16));
  });

  it('is about 1/(N+1) when one member joins N', () => {
    for (const n of [3, 9]) {
      const moved = movedFraction(new MaglevRing(members(n)), new MaglevRing(members(n + 1)));
      expect(moved).toBeGreaterThan(0.8 / (n + 1));
      expect(moved).toBeLessThan(1.3 / (n + 1));
    }
  });

  it('ignores in-flight loads: it measures ownership', () => {
    const loads = new Int32Array(3).fill(50);
    const bounded = new BoundedLoadRing(new KetamaRing(members(3)), loads, 1);
    loads[0] = 1000;
    expect(movedFraction(bounded, new KetamaRing(members(3)))).toBe(0);
  });

  it('between algorithms, measures how much a switch moves', () => {
    const moved = movedFraction(new KetamaRing(members(4)), new MaglevRing(members(4)));
    expect(moved).toBeGreaterThan(0.6);
    expect(moved).toBeLessThan(0.9);
  });
});
