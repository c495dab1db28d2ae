import { describe, expect, it } from 'vitest';
import { BoundedLoadRing } from './bounded/bounded-load-ring.js';
import { members, testKeys } from './conformance.suite.js';
import { KetamaRing } from './ketama/ketama-ring.js';
import { MaglevRing } from './maglev/maglev-ring.js';
import { movedFraction } from './moved.js';
import { diffRings } from './ring-diff.js';

describe('diffRings', () => {
  it('reports moved as movedFraction does, and every member of either ring with both shares', () => {
    const before = new KetamaRing(members(3));
    const after = new KetamaRing(members(4, 2));
    const diff = diffRings(before, after);
    expect(diff.moved).toBe(movedFraction(before, after));
    expect(Object.keys(diff.shares)).toEqual(['Server 1', 'Server 2', 'Server 3', 'Server 4', 'Server 5']);
    expect(diff.shares['Server 1']).toEqual({ before: before.shares()[0], after: 0 });
    expect(diff.shares['Server 5']).toEqual({ before: 0, after: after.shares()[3] });
    expect(diff.owners).toEqual({});
  });

  it('names each key’s owner on both rings by the ring that owns it, loads aside', () => {
    const loads = new Int32Array([100, 0, 0]);
    const before = new BoundedLoadRing(new MaglevRing(members(3)), loads, 1.1);
    const after = new MaglevRing(members(2));
    const keys = testKeys(200).map((hash) => ({ text: String(hash), hash }));
    const diff = diffRings(before, after, keys);
    for (const { text, hash } of keys) {
      expect(diff.owners[text]).toEqual({
        before: before.inner.members[before.inner.pick(hash)]!.name,
        after: after.members[after.pick(hash)]!.name,
      });
    }
  });

  it('says null for an empty ring and takes any text as a key, "__proto__" included', () => {
    const diff = diffRings(new KetamaRing([]), new KetamaRing(members(1)), [{ text: '__proto__', hash: 5 }]);
    expect(Object.getPrototypeOf(diff.owners)).toBe(Object.prototype);
    expect(Object.hasOwn(diff.owners, '__proto__')).toBe(true);
    expect(diff.owners['__proto__']).toEqual({ before: null, after: 'Server 1' });
    expect(diff.moved).toBe(1);
  });
});
