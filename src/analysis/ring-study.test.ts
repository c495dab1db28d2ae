import { describe, expect, it } from 'vitest';
import { xxh32Int } from '../core/xxhash32.js';
import { ClassicRing, requestSlot, virtualNodeSlot } from '../ring/classic/classic-ring.js';
import { KetamaRing } from '../ring/ketama/ketama-ring.js';
import {
  type Build,
  keyCounts,
  loadStats,
  movedOnJoin,
  movedOnLeave,
  randomKeys,
  serverMembers,
  sixDigitIds,
  SlotRing,
} from './ring-study.js';
import { timeline } from './timeline.js';

describe('ring study', () => {
  it('computes load statistics', () => {
    expect(loadStats([10, 20, 30])).toEqual({
      n: 3,
      total: 60,
      mean: 20,
      min: 10,
      max: 30,
      maxOverMean: 1.5,
      stddev: Math.sqrt(200 / 3),
      cv: Math.sqrt(200 / 3) / 20,
    });
    expect(loadStats([]).maxOverMean).toBe(0);
  });

  it('draws the same keys for the same seed, in range', () => {
    expect(Array.from(randomKeys(100, 1))).toEqual(Array.from(randomKeys(100, 1)));
    // Every residue mod 512 appears: the seed ring reduces keys mod 512 before hashing.
    const residues = new Set(Array.from(randomKeys(20_000), (k) => k % 512));
    expect(residues.size).toBe(512);
    expect(Math.max(...randomKeys(20_000))).toBeGreaterThan(2 ** 39);
    const ids = sixDigitIds(1000);
    expect(Math.min(...ids)).toBeGreaterThanOrEqual(100_000);
    expect(Math.max(...ids)).toBeLessThanOrEqual(999_999);
  });

  it('counts keys per member', () => {
    const ring = new KetamaRing(serverMembers(4));
    const counts = keyCounts(ring, randomKeys(10_000));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(10_000);
    expect(counts).toHaveLength(4);
  });

  it('measures moves on join and leave against their ideals', () => {
    const build: Build = (list) => new KetamaRing(list);
    const join = movedOnJoin(build, 4, 1 << 16);
    expect(join).toBeGreaterThan(0.1);
    expect(join).toBeLessThan(0.3);
    const leave = movedOnLeave(build, 4, 1 << 16);
    expect(leave).toBeGreaterThan(0.1);
    expect(leave).toBeLessThan(0.4);
  });

  it("rebuilds the seed ring exactly when given the seed's slot functions", () => {
    const members = serverMembers(5);
    const seed = new ClassicRing(members);
    const slots = new SlotRing(
      members,
      512,
      9,
      (id) => requestSlot(id, 512),
      (i, j) => virtualNodeSlot(i, j, 512),
    );
    for (const id of sixDigitIds(5000)) expect(slots.pick(id)).toBe(seed.pick(id));
    expect(slots.shares()).toEqual(seed.shares());
    const hashed = new SlotRing(
      members,
      512,
      9,
      (id) => xxh32Int(id) % 512,
      (i, j) => xxh32Int(j, xxh32Int(i)) % 512,
    );
    expect(loadStats(keyCounts(hashed, randomKeys(50_000))).maxOverMean).toBeLessThan(
      loadStats(keyCounts(seed, sixDigitIds(50_000))).maxOverMean,
    );
  });
});

describe('timeline', () => {
  it('buckets outcomes into requests per second per replica and failures', () => {
    const result = timeline(
      [
        { t: 10, replica: 'Server 2', ok: true },
        { t: 20, replica: 'Server 1', ok: true },
        { t: 260, replica: 'Server 1', ok: true },
        { t: 300, replica: undefined, ok: false },
        { t: 999, replica: 'Server 1', ok: true },
      ],
      250,
      1000,
    );
    expect(result.seconds).toEqual([0, 0.25, 0.5, 0.75]);
    expect([...result.perReplica.keys()]).toEqual(['Server 1', 'Server 2']);
    expect(result.perReplica.get('Server 1')).toEqual([4, 4, 0, 4]);
    expect(result.perReplica.get('Server 2')).toEqual([4, 0, 0, 0]);
    expect(result.failed).toEqual([0, 4, 0, 0]);
  });
});
