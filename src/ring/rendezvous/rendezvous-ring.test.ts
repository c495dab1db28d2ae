import { describe, expect, it } from 'vitest';
import { fmix32, xxh32Int, xxh32String } from '../../core/xxhash32.js';
import { members, ringConformance, testKeys } from '../conformance.suite.js';
import { RendezvousRing } from './rendezvous-ring.js';

ringConformance('rendezvous', {
  build: (list) => new RendezvousRing(list),
  balance: { maxRatio: 1.03 },
  movement: { othersMoved: 0 },
  weights: { tolerance: 0.03 },
  shares: { tolerance: 0.006 },
});

describe('RendezvousRing', () => {
  it('sends a key to the member with the highest fmix32(xxh32(key) ^ xxh32(name))', () => {
    const list = members(5);
    const ring = new RendezvousRing(list);
    for (const key of testKeys(1000)) {
      const scores = list.map((m) => fmix32(xxh32Int(key) ^ xxh32String(m.name)));
      expect(ring.pick(key)).toBe(scores.indexOf(Math.max(...scores)));
    }
  });

  it('orders retries by descending score', () => {
    const list = members(6);
    const ring = new RendezvousRing(list);
    for (const key of testKeys(300)) {
      const scores = list.map((m) => fmix32(xxh32Int(key) ^ xxh32String(m.name)));
      const expected = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
      expect([0, 1, 2, 3, 4, 5].map((attempt) => ring.pick(key, attempt))).toEqual(expected);
    }
  });
});
