/**
 * xxHash32 (Yann Collet's XXH32), verified against the reference implementation's published sanity
 * vectors (see xxhash32.test.ts). Pure, allocation-free on the integer paths that `pick` uses.
 */
const PRIME1 = 0x9e3779b1;
const PRIME2 = 0x85ebca77;
const PRIME3 = 0xc2b2ae3d;
const PRIME4 = 0x27d4eb2f;
const PRIME5 = 0x165667b1;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function round(acc: number, input: number): number {
  return Math.imul(rotl((acc + Math.imul(input, PRIME2)) | 0, 13), PRIME1);
}

function avalanche(h: number): number {
  h = Math.imul(h ^ (h >>> 15), PRIME2);
  h = Math.imul(h ^ (h >>> 13), PRIME3);
  return (h ^ (h >>> 16)) >>> 0;
}

/** One 4-byte lane of the tail (fewer than 16 bytes left). */
function tailWord(h: number, word: number): number {
  return Math.imul(rotl((h + Math.imul(word, PRIME3)) | 0, 17), PRIME4);
}

function readU32(bytes: Uint8Array, i: number): number {
  return bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
}

/** XXH32 of `bytes[0, length)` with `seed`, as an unsigned 32-bit integer. */
export function xxh32(bytes: Uint8Array, seed = 0, length = bytes.length): number {
  let i = 0;
  let h: number;
  if (length >= 16) {
    let v1 = (seed + PRIME1 + PRIME2) | 0;
    let v2 = (seed + PRIME2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - PRIME1) | 0;
    for (; i + 16 <= length; i += 16) {
      v1 = round(v1, readU32(bytes, i));
      v2 = round(v2, readU32(bytes, i + 4));
      v3 = round(v3, readU32(bytes, i + 8));
      v4 = round(v4, readU32(bytes, i + 12));
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + PRIME5) | 0;
  }
  h = (h + length) | 0;
  for (; i + 4 <= length; i += 4) h = tailWord(h, readU32(bytes, i));
  for (; i < length; i++) h = Math.imul(rotl((h + Math.imul(bytes[i]!, PRIME5)) | 0, 11), PRIME1);
  return avalanche(h);
}

/**
 * XXH32 of a safe integer as its 8 little-endian bytes (two's complement int64), with no buffer:
 * the same value `xxh32` gives for those bytes. How integer keys and indices are mixed.
 */
export function xxh32Int(value: number, seed = 0): number {
  const lo = value >>> 0;
  const hi = Math.floor(value / 4294967296) | 0;
  let h = (seed + PRIME5 + 8) | 0;
  h = tailWord(h, lo);
  h = tailWord(h, hi);
  return avalanche(h);
}

const encoder = new TextEncoder();
let scratch = new Uint8Array(256);

/** XXH32 of a string's UTF-8 bytes. Reuses one buffer, so it allocates only for very long strings. */
export function xxh32String(text: string, seed = 0): number {
  // UTF-8 needs at most 3 bytes per UTF-16 code unit.
  if (text.length * 3 > scratch.length) scratch = new Uint8Array(text.length * 3);
  const { written } = encoder.encodeInto(text, scratch);
  return xxh32(scratch, seed, written);
}

/** MurmurHash3's 32-bit finalizer: a cheap full-avalanche mix, for combining two hashes. */
export function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
