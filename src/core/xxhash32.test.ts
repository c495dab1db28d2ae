import { describe, expect, it } from 'vitest';
import { fmix32, xxh32, xxh32Int, xxh32String } from './xxhash32.js';

const PRIME = 2654435761;

/** The reference implementation's sanity buffer (xxhsum): byte i is the top byte of PRIME^(2^i) mod 2^32. */
function sanityBuffer(size = 101): Uint8Array {
  const buffer = new Uint8Array(size);
  let byteGen = PRIME;
  for (let i = 0; i < size; i++) {
    buffer[i] = byteGen >>> 24;
    byteGen = Math.imul(byteGen, byteGen) >>> 0;
  }
  return buffer;
}

function int64Bytes(value: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigInt64(0, BigInt(value), true);
  return bytes;
}

describe('xxh32', () => {
  it("matches the reference implementation's sanity vectors", () => {
    const buffer = sanityBuffer();
    expect(xxh32(new Uint8Array(0), 0)).toBe(0x02cc5d05);
    expect(xxh32(new Uint8Array(0), PRIME)).toBe(0x36b78ae7);
    expect(xxh32(buffer, 0, 1)).toBe(0xb85cbee5);
    expect(xxh32(buffer, PRIME, 1)).toBe(0xd5845d64);
    expect(xxh32(buffer, 0, 14)).toBe(0xe5aa0ab4);
    expect(xxh32(buffer, PRIME, 14)).toBe(0x4481951d);
    expect(xxh32(buffer, 0)).toBe(0x1f1aa412);
    expect(xxh32(buffer, PRIME)).toBe(0x498ec8e2);
  });

  it('matches published string digests', () => {
    expect(xxh32String('')).toBe(0x02cc5d05);
    expect(xxh32String('a')).toBe(0x550d7456);
    expect(xxh32String('abc')).toBe(0x32d153ff);
    expect(xxh32String('Nobody inspects the spammish repetition')).toBe(0xe2293b2f);
    expect(xxh32String('123456789')).toBe(0x937bad67);
    expect(xxh32String('123456789ABCDEF')).toBe(0x576e3cf9);
  });

  it('hashes long and non-ASCII strings as their UTF-8 bytes', () => {
    const long = 'ü€'.repeat(500);
    expect(xxh32String(long, 7)).toBe(xxh32(new TextEncoder().encode(long), 7));
  });

  it('hashes an integer exactly as its 8 little-endian bytes', () => {
    for (const value of [
      0,
      1,
      -1,
      42,
      123456,
      2 ** 32,
      2 ** 32 + 5,
      -(2 ** 40) - 3,
      Number.MAX_SAFE_INTEGER,
    ]) {
      for (const seed of [0, 1, PRIME]) expect(xxh32Int(value, seed)).toBe(xxh32(int64Bytes(value), seed));
    }
  });

  it('fmix32 is a bijection on a sample and maps 0 to 0 (the MurmurHash3 finalizer)', () => {
    expect(fmix32(0)).toBe(0);
    const seen = new Set<number>();
    for (let i = 0; i < 10_000; i++) seen.add(fmix32(i));
    expect(seen.size).toBe(10_000);
  });
});
