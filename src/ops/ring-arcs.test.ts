import { describe, expect, it } from 'vitest';
import { ClassicRing } from '../ring/classic/classic-ring.js';
import type { Ring } from '../ring/ring.js';
import { ringArcs } from './ring-arcs.js';

const members = (...numbers: number[]) => numbers.map((n) => ({ number: n, name: `Server ${n}` }));

describe('ringArcs', () => {
  it('draws the classic ring slot by slot, as pick routes', () => {
    const ring = new ClassicRing(members(1, 2, 3), { ringSize: 16, vnodes: 2 });
    const drawing = ringArcs(ring);
    expect(drawing.exact).toBe(true);
    expect(drawing.points).toHaveLength(6);
    // The arcs tile the circle without gaps.
    expect(drawing.arcs[0]!.start).toBe(0);
    expect(drawing.arcs.at(-1)!.end).toBe(1);
    for (let i = 1; i < drawing.arcs.length; i++)
      expect(drawing.arcs[i]!.start).toBe(drawing.arcs[i - 1]!.end);
    // Every slot's colour is the member a request landing on that slot goes to.
    for (const arc of drawing.arcs) {
      for (let slot = arc.start * 16; slot < arc.end * 16; slot++) {
        const id = [...Array(16).keys()].find((i) => (i * i + 2 * i + 17) % 16 === slot);
        if (id !== undefined) expect(ring.pick(id)).toBe(arc.member);
      }
    }
    // Arc lengths add up to each member's share.
    const lengths = [0, 0, 0];
    for (const arc of drawing.arcs) lengths[arc.member]! += arc.end - arc.start;
    expect(lengths).toEqual(ring.shares());
  });

  it('draws any other ring from its shares', () => {
    const ring: Ring = {
      members: members(1, 2, 3),
      pick: () => 0,
      shares: () => [0.5, 0, 0.5],
    };
    expect(ringArcs(ring)).toEqual({
      exact: false,
      arcs: [
        { start: 0, end: 0.5, member: 0 },
        { start: 0.5, end: 1, member: 2 },
      ],
      points: [],
    });
  });

  it('draws nothing for an empty ring', () => {
    expect(ringArcs(new ClassicRing([])).arcs).toEqual([]);
  });
});
