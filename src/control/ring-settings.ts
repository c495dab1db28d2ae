import { checkedWholeNumber, decimal, oneOf, setting, shown, wholeNumber } from '../core/setting.js';
import { MAGLEV_MAX_TABLE_SIZE, maglevTableProblem } from '../ring/maglev/maglev-ring.js';
import {
  RING_ALGORITHMS,
  RING_DEFAULTS,
  ringSettingsProblem,
  type RingAlgorithm,
  type RingSettings,
} from '../ring/registry.js';

/**
 * The ring settings, declared once. Start-up (`--ring-size`, `RINGLB_RING_SIZE`, `"ringSize"` in the
 * config file) and `PUT /ring` (`{"ringSize": …}`) check a value with the same rule, and refuse a
 * change to a setting that the chosen algorithm does not use (see `unusedRingSettings`).
 */
export const RING_SETTINGS = {
  ring: setting({
    flag: 'ring',
    help: `ring algorithm: ${RING_ALGORITHMS.join(', ')}; maglev or ketama spread keys evenly`,
    value: oneOf(RING_ALGORITHMS),
    default: RING_DEFAULTS.algorithm,
    defaultText: "classic, the seed's",
  }),
  ringSize: setting({
    flag: 'ring-size',
    help: 'classic: slots on the ring',
    value: wholeNumber(1, 1 << 20),
    default: RING_DEFAULTS.ringSize,
  }),
  vnodes: setting({
    flag: 'vnodes',
    help: 'classic: virtual nodes per replica',
    value: wholeNumber(1, 4096),
    default: RING_DEFAULTS.vnodes,
  }),
  ketamaPoints: setting({
    flag: 'ketama-points',
    help: 'ketama: points on the circle per replica of weight 1',
    value: wholeNumber(1, 10_000),
    default: RING_DEFAULTS.ketamaPoints,
  }),
  maglevTableSize: setting({
    flag: 'maglev-table-size',
    help: 'maglev: lookup table entries, a prime',
    value: checkedWholeNumber(3, MAGLEV_MAX_TABLE_SIZE, maglevTableProblem),
    default: RING_DEFAULTS.maglevTableSize,
  }),
  balanceFactor: setting({
    flag: 'balance-factor',
    help: 'bounded loads: a replica takes at most this × the mean in-flight load, e.g. 1.25',
    value: decimal('0 (off) or a number from 1 to 100', (balanceFactor) =>
      ringSettingsProblem({ ...RING_DEFAULTS, balanceFactor }),
    ),
    default: RING_DEFAULTS.balanceFactor,
    defaultText: '0 = off',
  }),
};

export type RingSettingKey = keyof typeof RING_SETTINGS;

/** The name of each setting in `RingSettings` and in the body of `PUT /ring`. */
export const RING_FIELD: Record<RingSettingKey, keyof RingSettings> = {
  ring: 'algorithm',
  ringSize: 'ringSize',
  vnodes: 'vnodes',
  ketamaPoints: 'ketamaPoints',
  maglevTableSize: 'maglevTableSize',
  balanceFactor: 'balanceFactor',
};

/** The algorithms that use each setting; the others ignore it. */
const USED_BY: Record<keyof RingSettings, readonly RingAlgorithm[]> = {
  algorithm: RING_ALGORITHMS,
  ringSize: ['classic'],
  vnodes: ['classic'],
  ketamaPoints: ['ketama'],
  maglevTableSize: ['maglev'],
  balanceFactor: RING_ALGORITHMS,
};

export interface UnusedRingSetting {
  readonly key: RingSettingKey;
  readonly value: unknown;
  /** The algorithm that uses it. */
  readonly usedBy: RingAlgorithm;
}

/**
 * The settings in `next` that its algorithm does not use and that differ from `baseline` (the
 * defaults at start-up, the settings in force for `PUT /ring`). They are refused rather than kept
 * aside, so a value nobody checked against its ring never waits to break a later switch.
 */
export function unusedRingSettings(next: RingSettings, baseline: RingSettings): UnusedRingSetting[] {
  const unused: UnusedRingSetting[] = [];
  for (const key of Object.keys(RING_FIELD) as RingSettingKey[]) {
    const field = RING_FIELD[key];
    const usedBy = USED_BY[field];
    if (usedBy.includes(next.algorithm) || next[field] === baseline[field]) continue;
    unused.push({ key, value: next[field], usedBy: usedBy[0]! });
  }
  return unused;
}

/** The one sentence for an unused setting; `choose` says how the reader picks another algorithm. */
export function unusedRingSettingMessage(
  unused: UnusedRingSetting,
  algorithm: RingAlgorithm,
  choose: (algorithm: RingAlgorithm) => string,
): string {
  return `${shown(unused.value)} is a setting of the ${unused.usedBy} ring, and the ring is ${algorithm}: leave it out, or ${choose(unused.usedBy)}`;
}
