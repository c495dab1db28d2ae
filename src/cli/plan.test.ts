import { describe, expect, it } from 'vitest';
import { parseClientArgs } from './client-args.js';
import { formatPlan } from './plan-table.js';

const plan = (...argv: string[]) => parseClientArgs('plan', argv, {}).plan!;

describe('ringlb plan: the dry run asked for', () => {
  it('previews add and rm with names, --n, weights and keys', () => {
    expect(plan('add', 'S5', 'S6', '--weight', 'S5=2', '--key', '42', '--key=777777')).toEqual({
      subject: 'add',
      method: 'POST',
      path: '/add?dry_run=true',
      body: { n: 2, hostnames: ['S5', 'S6'], weights: { S5: 2 }, keys: ['42', '777777'] },
    });
    expect(plan('rm', '--n', '2')).toEqual({
      subject: 'rm',
      method: 'POST',
      path: '/rm?dry_run=true',
      body: { n: 2, hostnames: [] },
    });
    expect(plan('add').body).toEqual({ n: 1, hostnames: [] });
  });

  it('previews a ring switch with the ring flags of ringlb start, named as PUT /ring names them', () => {
    expect(plan('ring', '--ring', 'maglev', '--balance-factor', '1.25', '--maglev-table-size=251')).toEqual({
      subject: 'ring',
      method: 'PUT',
      path: '/ring?dry_run=true',
      body: { algorithm: 'maglev', balanceFactor: 1.25, maglevTableSize: 251 },
    });
    expect(plan('ring', '--ring-size', '1024', '--vnodes', '7').body).toEqual({ ringSize: 1024, vnodes: 7 });
  });

  it('previews a weight change, the name percent-encoded', () => {
    expect(plan('weight', 'Server 1', '3', '--key', 'a')).toEqual({
      subject: 'weight',
      method: 'PUT',
      path: '/replicas/Server%201?dry_run=true',
      body: { weight: 3, keys: ['a'] },
    });
  });

  it('refuses a command line that says no change, or flags of another change', () => {
    expect(() => plan()).toThrow(/say what to preview: add, rm, ring, weight/);
    expect(() => plan('move')).toThrow(/"move" is not a change to preview/);
    expect(() => plan('add', '--ring', 'maglev')).toThrow(/--ring is for plan ring/);
    expect(() => plan('ring', 'S5')).toThrow(/plan ring takes no names/);
    expect(() => plan('ring', '--n', '2')).toThrow(/--n is for plan add and rm/);
    expect(() => plan('rm', 'S5', '--weight', 'S5=2')).toThrow(/--weight is for plan add/);
    expect(() => plan('add', 'S5', '--weight', 'S5')).toThrow(/"S5" is not NAME=WEIGHT/);
    expect(() => plan('add', 'S5', '--weight', 'S6=2')).toThrow(/"S6" is not one of the NAMEs to add/);
    expect(() => plan('weight', 'S5')).toThrow(/a replica NAME and a WEIGHT/);
    expect(() => plan('weight', 'S5', 'two')).toThrow(/"two" is not a weight/);
    expect(() => plan('add', '--bogus')).toThrow(/unknown option --bogus for ringlb plan/);
    expect(parseClientArgs('plan', ['--help'], {}).help).toBe(true);
  });
});

describe('ringlb plan: the table', () => {
  it('shows moved, added, each share before and after, and the keys that move', () => {
    const text = formatPlan('add', {
      moved: 0.2542,
      added: ['S4'],
      shares: {
        'Server 1': { before: 0.5, after: 0.375 },
        'Server 2': { before: 0.5, after: 0.3751 },
        S4: { before: 0, after: 0.2499 },
      },
      owners: { '42': { before: 'Server 1', after: 'S4' }, '7': { before: 'Server 2', after: 'Server 2' } },
    });
    expect(text).toBe(
      [
        'ringlb plan add: 25.4 % of the key space would move (nothing changed)',
        'would add: S4',
        '',
        'REPLICA   SHARE BEFORE  SHARE AFTER  CHANGE (POINTS)',
        'Server 1  50.0 %        37.5 %       -12.5',
        'Server 2  50.0 %        37.5 %       -12.5',
        'S4        -             25.0 %       +25.0',
        '',
        'KEY  OWNER BEFORE  OWNER AFTER',
        '7    Server 2      Server 2     stays',
        '42   Server 1      S4           moves',
        '',
      ].join('\n'),
    );
  });

  it('says a removal, and 0.0 for a change too small to show', () => {
    const text = formatPlan('rm', {
      moved: 0,
      removed: ['S9'],
      shares: { A: { before: 0.50001, after: 0.5 }, S9: { before: 0.4999, after: 0 } },
    });
    expect(text).toMatch(
      /^ringlb plan rm: 0\.0 % of the key space would move \(nothing changed\)\nwould remove: S9\n/,
    );
    expect(text).toMatch(/\nA\s+50\.0 %\s+50\.0 %\s+0\.0\n/);
    expect(text).toMatch(/\nS9\s+50\.0 %\s+-\s+-50\.0\n$/);
    expect(text).not.toMatch(/KEY/);
  });
});
