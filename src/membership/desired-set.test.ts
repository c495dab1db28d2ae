import { describe, expect, it } from 'vitest';
import { RinglbError } from '../core/errors.js';
import { planAdd, planRemove, specsOf } from './desired-set.js';

const set = (entries: [string, number][]) => new Map(entries);

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return error instanceof RinglbError ? error.code : 'not a RinglbError';
  }
  return undefined;
}

describe('planAdd', () => {
  it('gives named replicas first, then generated ones, the lowest free numbers', () => {
    const current = set([
      ['Server 1', 1],
      ['b', 3],
    ]);
    const next = planAdd(current, { n: 3, hostnames: ['x'] }, 10);
    expect([...next]).toEqual([
      ['Server 1', 1],
      ['b', 3],
      ['x', 2],
      ['Server 4', 4],
      ['Server 5', 5],
    ]);
    expect(current.size).toBe(2);
  });

  it('never gives one number twice over any sequence of adds and removes', () => {
    let current: Map<string, number> = new Map();
    let seed = 7;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let step = 0; step < 500; step++) {
      if (random() < 0.6 && current.size < 40) {
        current = planAdd(current, { n: 1 + Math.floor(random() * 3), hostnames: [] }, 64);
      } else if (current.size > 0) {
        current = planRemove(current, 1 + Math.floor(random() * Math.min(3, current.size)), [], random);
      }
      const numbers = [...current.values()];
      expect(new Set(numbers).size).toBe(numbers.length);
      expect(numbers.every((n) => Number.isInteger(n) && n >= 1)).toBe(true);
    }
  });

  it('refuses a taken, repeated or invalid name and a full ring, changing nothing', () => {
    const current = set([['a', 1]]);
    expect(codeOf(() => planAdd(current, { n: 1, hostnames: ['a'] }, 10))).toBe('ERR_DUPLICATE_HOSTNAME');
    expect(codeOf(() => planAdd(current, { n: 2, hostnames: ['b', 'b'] }, 10))).toBe(
      'ERR_DUPLICATE_HOSTNAME',
    );
    expect(codeOf(() => planAdd(set([['Server 2', 1]]), { n: 1, hostnames: [] }, 10))).toBe(
      'ERR_DUPLICATE_HOSTNAME',
    );
    expect(codeOf(() => planAdd(current, { n: 2, hostnames: [] }, 2))).toBe('ERR_RING_FULL');
    expect(codeOf(() => planAdd(current, { n: 1, hostnames: ['bad'] }, 10, () => 'no good'))).toBe(
      'ERR_INVALID_BODY',
    );
    expect([...current]).toEqual([['a', 1]]);
  });
});

describe('planRemove', () => {
  const current = set([
    ['a', 1],
    ['b', 2],
    ['c', 3],
  ]);

  it('removes the named replicas, then picks the rest with the given random source', () => {
    expect([...planRemove(current, 1, ['b']).keys()]).toEqual(['a', 'c']);
    expect([...planRemove(current, 2, ['b'], () => 0).keys()]).toEqual(['c']);
    expect([...planRemove(current, 2, [], () => 0.99).keys()]).toEqual(['a']);
    expect(planRemove(current, 3, []).size).toBe(0);
  });

  it('refuses an unknown or repeated name and too large an n', () => {
    expect(codeOf(() => planRemove(current, 1, ['z']))).toBe('ERR_UNKNOWN_HOSTNAME');
    expect(codeOf(() => planRemove(current, 2, ['a', 'a']))).toBe('ERR_DUPLICATE_HOSTNAME');
    expect(codeOf(() => planRemove(current, 4, []))).toBe('ERR_TOO_MANY_REMOVALS');
  });
});

describe('specsOf', () => {
  it('lists the set by number', () => {
    expect(
      specsOf(
        set([
          ['b', 2],
          ['a', 1],
        ]),
      ),
    ).toEqual([
      { name: 'a', number: 1 },
      { name: 'b', number: 2 },
    ]);
  });
});
