import { describe, expect, it } from 'vitest';
import { decodeDesired, decodeRegistryEntry, encodeDesired } from './encoding.js';

describe('desired set encoding', () => {
  it('round-trips a set', () => {
    const set = new Map([
      ['Server 1', { number: 1 }],
      ['x y', { number: 2 }],
    ]);
    expect(decodeDesired(encodeDesired(set))).toEqual(set);
    expect(encodeDesired(set)).toBe('{"replicas":{"Server 1":1,"x y":2}}');
  });

  it('keeps the servers of static members beside their numbers', () => {
    const set = new Map([
      ['Server 1', { number: 1, backend: 'http://10.0.0.1:80' }],
      ['api-7', { number: 2, backend: 'http://10.0.0.7:8080' }],
    ]);
    expect(encodeDesired(set)).toBe(
      '{"replicas":{"Server 1":1,"api-7":2},"backends":{"Server 1":"http://10.0.0.1:80","api-7":"http://10.0.0.7:8080"}}',
    );
    expect(decodeDesired(encodeDesired(set))).toEqual(set);
    expect(() => decodeDesired('{"replicas":{"a":1},"backends":{"a":3}}')).toThrow(/bad backend/);
    expect(() => decodeDesired('{"replicas":{"a":1},"backends":[]}')).toThrow(/not an object/);
  });

  it('refuses what is not a set of distinct positive numbers', () => {
    expect(() => decodeDesired('{}')).toThrow(/no "replicas"/);
    expect(() => decodeDesired('{"replicas":[]}')).toThrow(/no "replicas"/);
    expect(() => decodeDesired('{"replicas":{"a":0}}')).toThrow(/bad or repeated/);
    expect(() => decodeDesired('{"replicas":{"a":1.5}}')).toThrow(/bad or repeated/);
    expect(() => decodeDesired('{"replicas":{"a":1,"b":1}}')).toThrow(/bad or repeated/);
    expect(() => decodeDesired('not json')).toThrow();
  });
});

describe('registry entries', () => {
  it('reads origin and pid, and ignores anything else', () => {
    expect(decodeRegistryEntry('{"origin":"http://127.0.0.1:1","pid":42}', 7)).toEqual({
      origin: 'http://127.0.0.1:1',
      pid: 42,
      revision: 7,
    });
    expect(decodeRegistryEntry('{"origin":"x"}', 7)).toBeUndefined();
    expect(decodeRegistryEntry('{"pid":1}', 7)).toBeUndefined();
    expect(decodeRegistryEntry('nope', 7)).toBeUndefined();
  });
});
