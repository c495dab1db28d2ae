import { describe, expect, it } from 'vitest';
import { RinglbError } from '../core/errors.js';
import {
  planAdd,
  planRemove,
  sameDesired,
  specsOf,
  type DesiredMember,
  type PlanRules,
} from './desired-set.js';

const set = (entries: [string, number][]) =>
  new Map<string, DesiredMember>(entries.map(([name, number]) => [name, { number }]));
const numbers = (desired: ReadonlyMap<string, DesiredMember>) =>
  [...desired].map(([name, member]) => [name, member.number]);
const cap = (capacity: number, more: Partial<PlanRules> = {}): PlanRules => ({ capacity, ...more });

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
    const next = planAdd(current, { n: 3, hostnames: ['x'] }, cap(10));
    expect(numbers(next)).toEqual([
      ['Server 1', 1],
      ['b', 3],
      ['x', 2],
      ['Server 4', 4],
      ['Server 5', 5],
    ]);
    expect(current.size).toBe(2);
  });

  it('never gives one number twice over any sequence of adds and removes', () => {
    let current = new Map<string, DesiredMember>();
    let seed = 7;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let step = 0; step < 500; step++) {
      if (random() < 0.6 && current.size < 40) {
        current = planAdd(current, { n: 1 + Math.floor(random() * 3), hostnames: [] }, cap(64));
      } else if (current.size > 0) {
        current = planRemove(current, 1 + Math.floor(random() * Math.min(3, current.size)), [], random);
      }
      const used = [...current.values()].map((m) => m.number);
      expect(new Set(used).size).toBe(used.length);
      expect(used.every((n) => Number.isInteger(n) && n >= 1)).toBe(true);
    }
  });

  it('refuses a taken, repeated or invalid name and a full ring, changing nothing', () => {
    const current = set([['a', 1]]);
    expect(codeOf(() => planAdd(current, { n: 1, hostnames: ['a'] }, cap(10)))).toBe(
      'ERR_DUPLICATE_HOSTNAME',
    );
    expect(codeOf(() => planAdd(current, { n: 2, hostnames: ['b', 'b'] }, cap(10)))).toBe(
      'ERR_DUPLICATE_HOSTNAME',
    );
    expect(codeOf(() => planAdd(set([['Server 2', 1]]), { n: 1, hostnames: [] }, cap(10)))).toBe(
      'ERR_DUPLICATE_HOSTNAME',
    );
    expect(codeOf(() => planAdd(current, { n: 2, hostnames: [] }, cap(2)))).toBe('ERR_RING_FULL');
    expect(
      codeOf(() => planAdd(current, { n: 1, hostnames: ['bad'] }, cap(10, { nameProblem: () => 'no good' }))),
    ).toBe('ERR_INVALID_BODY');
    expect(numbers(current)).toEqual([['a', 1]]);
  });
});

describe('planAdd with static backends', () => {
  const pool = ['http://10.0.0.1:80', 'http://10.0.0.2:80', 'http://10.0.0.3:80'];
  const rules = cap(10, { backendPool: pool });

  it('takes unused servers of the starting list, member k preferring the k-th', () => {
    const start = planAdd(new Map(), { n: 3, hostnames: [] }, rules);
    expect(specsOf(start).map((s) => s.backend)).toEqual(pool);
    const without2 = planRemove(start, 1, ['Server 2']);
    const again = planAdd(without2, { n: 1, hostnames: [] }, rules);
    expect(again.get('Server 2')).toEqual({ number: 2, backend: pool[1] });
    expect(codeOf(() => planAdd(start, { n: 1, hostnames: [] }, rules))).toBe('ERR_RING_FULL');
  });

  it('registers new servers by address and name, and refuses one that is a member already', () => {
    const start = planAdd(new Map(), { n: 2, hostnames: [] }, rules);
    const next = planAdd(start, { n: 1, hostnames: ['api-7'], backends: ['http://10.0.0.7:8080'] }, rules);
    expect(next.get('api-7')).toEqual({ number: 3, backend: 'http://10.0.0.7:8080' });
    expect(codeOf(() => planAdd(start, { n: 1, hostnames: [], backends: [pool[0]!] }, rules))).toBe(
      'ERR_DUPLICATE_BACKEND',
    );
    const twice = { n: 2, hostnames: [], backends: ['http://a:1', 'http://a:1'] };
    expect(codeOf(() => planAdd(start, twice, rules))).toBe('ERR_INVALID_BODY');
    expect(codeOf(() => planAdd(start, { n: 2, hostnames: [], backends: ['http://a:1'] }, rules))).toBe(
      'ERR_INVALID_BODY',
    );
  });

  it('refuses backends where a provider starts the replicas', () => {
    expect(codeOf(() => planAdd(new Map(), { n: 1, hostnames: [], backends: ['http://a:1'] }, cap(10)))).toBe(
      'ERR_INVALID_BODY',
    );
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

describe('specsOf and sameDesired', () => {
  it('lists the set by number, backends included', () => {
    const desired = new Map<string, DesiredMember>([
      ['b', { number: 2, backend: 'http://b:1' }],
      ['a', { number: 1 }],
    ]);
    expect(specsOf(desired)).toEqual([
      { name: 'a', number: 1 },
      { name: 'b', number: 2, backend: 'http://b:1' },
    ]);
    expect(sameDesired(desired, new Map([...desired].reverse()))).toBe(true);
    expect(sameDesired(desired, new Map([...desired, ['b', { number: 2, backend: 'http://c:1' }]]))).toBe(
      false,
    );
  });
});
