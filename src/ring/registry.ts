import { RinglbError } from '../core/errors.js';
import { BoundedLoadRing } from './bounded/bounded-load-ring.js';
import { CLASSIC_DEFAULTS, ClassicRing, classicCapacity } from './classic/classic-ring.js';
import { KETAMA_DEFAULTS, KetamaRing } from './ketama/ketama-ring.js';
import { MAGLEV_DEFAULTS, MaglevRing, maglevTableProblem } from './maglev/maglev-ring.js';
import { RendezvousRing } from './rendezvous/rendezvous-ring.js';
import type { BuildRing, Ring, RingMember } from './ring.js';

/** The one place that turns ring settings into a ring builder; the algorithms know nothing of it. */
export const RING_ALGORITHMS = ['classic', 'ketama', 'maglev', 'rendezvous'] as const;
export type RingAlgorithm = (typeof RING_ALGORITHMS)[number];

export interface RingSettings {
  readonly algorithm: RingAlgorithm;
  /** classic: slots and virtual nodes per replica (the seed's RING_SIZE, VNODE_COUNT). */
  readonly ringSize: number;
  readonly vnodes: number;
  /** ketama: points per replica of weight 1. */
  readonly ketamaPoints: number;
  /** maglev: lookup table size (prime). */
  readonly maglevTableSize: number;
  /** Bounded loads: 0 = off, otherwise c ≥ 1 (a replica takes at most c × the mean in-flight load). */
  readonly balanceFactor: number;
}

export const RING_DEFAULTS: RingSettings = {
  algorithm: 'classic',
  ringSize: CLASSIC_DEFAULTS.ringSize,
  vnodes: CLASSIC_DEFAULTS.vnodes,
  ketamaPoints: KETAMA_DEFAULTS.points,
  maglevTableSize: MAGLEV_DEFAULTS.tableSize,
  balanceFactor: 0,
};

/**
 * The ring part of the configuration, as the ring registry takes it (here rather than with the ring
 * settings' declarations, which need zod: a `--workers` process builds rings without it).
 */
export function ringSettingsOf(config: {
  readonly ring: RingAlgorithm;
  readonly ringSize: number;
  readonly vnodes: number;
  readonly ketamaPoints: number;
  readonly maglevTableSize: number;
  readonly balanceFactor: number;
}): RingSettings {
  return {
    algorithm: config.ring,
    ringSize: config.ringSize,
    vnodes: config.vnodes,
    ketamaPoints: config.ketamaPoints,
    maglevTableSize: config.maglevTableSize,
    balanceFactor: config.balanceFactor,
  };
}

/** The most replicas any ring takes (the control API's limit too). */
export const MAX_REPLICAS = 1000;

/** Why these settings cannot build a ring, or undefined when they can. */
export function ringSettingsProblem(settings: RingSettings): string | undefined {
  if (settings.balanceFactor !== 0 && !(settings.balanceFactor >= 1 && settings.balanceFactor <= 100)) {
    return `the balance factor must be 0 (off) or from 1 to 100, not ${settings.balanceFactor}`;
  }
  if (settings.algorithm === 'maglev') return maglevTableProblem(settings.maglevTableSize);
  return undefined;
}

/** How many replicas a ring built with these settings holds. */
export function ringCapacity(settings: RingSettings): number {
  switch (settings.algorithm) {
    case 'classic':
      return classicCapacity(settings);
    case 'maglev':
      // Each replica should own at least ~10 entries for the table to balance at all.
      return Math.min(MAX_REPLICAS, Math.floor(settings.maglevTableSize / 10));
    default:
      return MAX_REPLICAS;
  }
}

function buildUnbounded(settings: RingSettings, members: readonly RingMember[]): Ring {
  switch (settings.algorithm) {
    case 'classic':
      return new ClassicRing(members, { ringSize: settings.ringSize, vnodes: settings.vnodes });
    case 'ketama':
      return new KetamaRing(members, { points: settings.ketamaPoints });
    case 'maglev':
      return new MaglevRing(members, { tableSize: settings.maglevTableSize });
    case 'rendezvous':
      return new RendezvousRing(members);
  }
}

/** Whether the algorithm honours replica weights: the seed's classic ring places by number only. */
export function ringHasWeights(algorithm: RingAlgorithm): boolean {
  return algorithm !== 'classic';
}

/** How a cluster builds its ring: the builder, how many replicas it holds, whether it has weights. */
export interface RingFactory {
  readonly buildRing: BuildRing;
  readonly capacity: number;
  readonly weighted: boolean;
}

/** A ring builder and its capacity for validated settings; bad settings throw ERR_INVALID_CONFIG. */
export function ringFactory(settings: RingSettings): RingFactory {
  const problem = ringSettingsProblem(settings);
  if (problem) throw new RinglbError('ERR_INVALID_CONFIG', problem);
  const buildRing: BuildRing = (members, loads) => {
    const ring = buildUnbounded(settings, members);
    return settings.balanceFactor === 0 ? ring : new BoundedLoadRing(ring, loads, settings.balanceFactor);
  };
  return { buildRing, capacity: ringCapacity(settings), weighted: ringHasWeights(settings.algorithm) };
}
