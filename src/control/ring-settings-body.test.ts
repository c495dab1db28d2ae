import { describe, expect, it } from 'vitest';
import { loadConfig } from '../cli/config.js';
import { RinglbError } from '../core/errors.js';
import { RING_DEFAULTS, type RingSettings } from '../ring/registry.js';
import { parseRingBody } from './ring-settings-body.js';
import { RING_FIELD, RING_SETTINGS, type RingSettingKey } from './ring-settings.js';

/** What PUT /ring says about `body` on a ring with `current` settings: the settings, or its message. */
function put(body: Record<string, unknown>, current: RingSettings = RING_DEFAULTS): RingSettings | string {
  try {
    return parseRingBody(body, current);
  } catch (error) {
    expect(error).toBeInstanceOf(RinglbError);
    return (error as Error).message.replace(/^<Error> '[a-zA-Z]+': /, '');
  }
}

/** What start-up says about the same settings given as flags: the config, or its message. */
function start(body: Record<string, unknown>): RingSettings | string {
  const argv = Object.entries(body).flatMap(([field, value]) => {
    const key = (Object.keys(RING_FIELD) as RingSettingKey[]).find((k) => RING_FIELD[k] === field)!;
    return [`--${RING_SETTINGS[key].flag}`, String(value)];
  });
  try {
    const c = loadConfig(['--replicas', '0', ...argv], {});
    const { ring, ringSize, vnodes, ketamaPoints, maglevTableSize, balanceFactor } = c;
    return { algorithm: ring, ringSize, vnodes, ketamaPoints, maglevTableSize, balanceFactor };
  } catch (error) {
    return (error as Error).message.replace(/^invalid configuration:\n {2}--[a-z-]+: /, '');
  }
}

// Each row: settings given to `ringlb start` as flags and to PUT /ring on a default ring; both
// must give the same verdict and the same words.
const ROWS: readonly [string, Record<string, unknown>, string | undefined][] = [
  ['a prime maglev table', { algorithm: 'maglev', maglevTableSize: 1009 }, undefined],
  [
    'a maglev table that is not prime, with classic chosen',
    { maglevTableSize: 100 },
    'the maglev table size must be a prime number; 100 is not (nearest primes: 97, 101)',
  ],
  [
    'a maglev table that is not prime, with maglev chosen',
    { algorithm: 'maglev', maglevTableSize: 100 },
    'the maglev table size must be a prime number; 100 is not (nearest primes: 97, 101)',
  ],
  [
    'a classic ring size on maglev',
    { algorithm: 'maglev', ringSize: 3 },
    '3 is a setting of the classic ring, and the ring is maglev: leave it out, or',
  ],
  [
    'virtual nodes on ketama',
    { algorithm: 'ketama', vnodes: 1000 },
    '1000 is a setting of the classic ring, and the ring is ketama: leave it out, or',
  ],
  [
    'ketama points on classic',
    { ketamaPoints: 100 },
    '100 is a setting of the ketama ring, and the ring is classic: leave it out, or',
  ],
  ['a ring size out of range', { ringSize: 0 }, 'expected a whole number from 1 to 1048576, got 0'],
  [
    'ketama points that are not whole',
    { algorithm: 'ketama', ketamaPoints: 1.5 },
    'expected a whole number from 1 to 10000, got 1.5',
  ],
  [
    'a balance factor below 1',
    { balanceFactor: 0.5 },
    'the balance factor must be 0 (off) or from 1 to 100, not 0.5',
  ],
  [
    'an unknown algorithm',
    { algorithm: 'chord' },
    'expected one of classic, ketama, maglev, rendezvous, got "chord"',
  ],
  ['bounded loads on rendezvous', { algorithm: 'rendezvous', balanceFactor: 1.25 }, undefined],
];

describe('ring settings: one rule at start-up and in PUT /ring', () => {
  for (const [name, body, message] of ROWS) {
    it(`${name}: ${message ?? 'accepted'}`, () => {
      const live = put(body);
      const started = start(body);
      if (message === undefined) {
        expect(live).toMatchObject(body);
        expect(started).toEqual(live);
      } else {
        expect(typeof live === 'string' && live.startsWith(message)).toBe(true);
        expect(typeof started === 'string' && started.startsWith(message)).toBe(true);
      }
    });
  }

  it('says in each place how to choose the ring that uses the setting', () => {
    expect(put({ algorithm: 'maglev', ringSize: 3 })).toMatch(/or send "algorithm":"classic" with it$/);
    expect(start({ algorithm: 'maglev', ringSize: 3 })).toMatch(/or choose --ring classic$/);
  });

  it('on maglev, a classic ring size is refused, so a later switch to classic is not poisoned', () => {
    const maglev = parseRingBody({ algorithm: 'maglev' }, RING_DEFAULTS);
    expect(put({ ringSize: 3 }, maglev)).toMatch(/^3 is a setting of the classic ring/);
    expect(parseRingBody({ algorithm: 'classic' }, maglev)).toEqual(RING_DEFAULTS);
    // Naming a setting of another ring with the value in force changes nothing, so it is accepted.
    expect(parseRingBody({ ringSize: 512, balanceFactor: 2 }, maglev)).toEqual({
      ...maglev,
      balanceFactor: 2,
    });
    // With the algorithm that uses it, it is taken.
    expect(parseRingBody({ algorithm: 'classic', ringSize: 1024 }, maglev)).toMatchObject({ ringSize: 1024 });
  });
});
