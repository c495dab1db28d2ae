import { describe, expect, it } from 'vitest';
import { BoundedLoadRing } from './bounded/bounded-load-ring.js';
import { ClassicRing } from './classic/classic-ring.js';
import { members } from './conformance.suite.js';
import { KetamaRing } from './ketama/ketama-ring.js';
import { MaglevRing } from './maglev/maglev-ring.js';
import { RendezvousRing } from './rendezvous/rendezvous-ring.js';
import { RING_DEFAULTS, ringCapacity, ringFactory, ringSettingsProblem } from './registry.js';

describe('ring registry', () => {
  it('builds the ring each algorithm names, bounded when a balance factor is set', () => {
    const loads = new Int32Array(3);
    const cases = [
      ['classic', ClassicRing],
      ['ketama', KetamaRing],
      ['maglev', MaglevRing],
      ['rendezvous', RendezvousRing],
    ] as const;
    for (const [algorithm, type] of cases) {
      const plain = ringFactory({ ...RING_DEFAULTS, algorithm }).buildRing(members(3), loads);
      expect(plain).toBeInstanceOf(type);
      const bounded = ringFactory({ ...RING_DEFAULTS, algorithm, balanceFactor: 1.25 }).buildRing(
        members(3),
        loads,
      );
      expect(bounded).toBeInstanceOf(BoundedLoadRing);
      expect((bounded as BoundedLoadRing).inner).toBeInstanceOf(type);
      expect((bounded as BoundedLoadRing).balanceFactor).toBe(1.25);
    }
  });

  it('passes each algorithm its settings', () => {
    const ketama = ringFactory({ ...RING_DEFAULTS, algorithm: 'ketama', ketamaPoints: 7 }).buildRing(
      members(2),
      new Int32Array(2),
    ) as KetamaRing;
    expect(ketama.positions.length).toBe(14);
    const maglev = ringFactory({ ...RING_DEFAULTS, algorithm: 'maglev', maglevTableSize: 1009 }).buildRing(
      members(2),
      new Int32Array(2),
    ) as MaglevRing;
    expect(maglev.table.length).toBe(1009);
    const classic = ringFactory({ ...RING_DEFAULTS, ringSize: 64, vnodes: 4 }).buildRing(
      members(2),
      new Int32Array(2),
    ) as ClassicRing;
    expect(classic.placement.length).toBe(64);
  });

  it('states each ring’s capacity', () => {
    expect(ringCapacity(RING_DEFAULTS)).toBe(56);
    expect(ringCapacity({ ...RING_DEFAULTS, algorithm: 'ketama' })).toBe(1000);
    expect(ringCapacity({ ...RING_DEFAULTS, algorithm: 'maglev', maglevTableSize: 1009 })).toBe(100);
    expect(ringFactory({ ...RING_DEFAULTS, algorithm: 'maglev' }).capacity).toBe(1000);
  });

  it('refuses bad settings with a message that says what is wrong', () => {
    expect(ringSettingsProblem({ ...RING_DEFAULTS, balanceFactor: 0.5 })).toBe(
      'the balance factor must be 0 (off) or from 1 to 100, not 0.5',
    );
    expect(ringSettingsProblem({ ...RING_DEFAULTS, algorithm: 'maglev', maglevTableSize: 1000 })).toMatch(
      /must be a prime number; 1000 is not \(nearest primes: 997, 1009\)/,
    );
    // The table size only matters to maglev.
    expect(ringSettingsProblem({ ...RING_DEFAULTS, maglevTableSize: 1000 })).toBeUndefined();
    expect(() => ringFactory({ ...RING_DEFAULTS, balanceFactor: -1 })).toThrow(/balance factor/);
  });
});
