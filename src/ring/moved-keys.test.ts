import { describe, expect, it } from 'vitest';
import { ClassicRing } from './classic/classic-ring.js';
import { movedRatio } from './moved-keys.js';
import type { RingMember } from './ring.js';

const members = (...numbers: number[]): RingMember[] =>
  numbers.map((n) => ({ number: n, name: `Server ${n}` }));

/** The exact answer for the classic ring: ids 0..ringSize-1 cover every request slot pattern once. */
function exactClassic(before: ClassicRing, after: ClassicRing): number {
  let moved = 0;
  for (let id = 0; id < 512; id++) {
    if (before.members[before.pick(id)]!.name !== after.members[after.pick(id)]!.name) moved++;
  }
  return moved / 512;
}

describe('movedRatio', () => {
  it('is 0 for the same membership and 1 from or to an empty ring', () => {
    const ring = new ClassicRing(members(1, 2, 3));
    expect(movedRatio(ring, new ClassicRing(members(3, 2, 1)))).toBe(0);
    expect(movedRatio(new ClassicRing([]), ring)).toBe(1);
    expect(movedRatio(ring, new ClassicRing([]))).toBe(1);
    expect(movedRatio(new ClassicRing([]), new ClassicRing([]))).toBe(0);
  });

  it('is exact for the classic ring when a replica joins or leaves', () => {
    const three = new ClassicRing(members(1, 2, 3));
    const four = new ClassicRing(members(1, 2, 3, 4));
    const two = new ClassicRing(members(1, 3));
    expect(movedRatio(three, four)).toBe(exactClassic(three, four));
    expect(movedRatio(three, two)).toBe(exactClassic(three, two));
    expect(movedRatio(three, two)).toBeGreaterThan(0);
  });
});
