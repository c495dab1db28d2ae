// What the soak replica and the soak clients agree on: the misbehaviour modes and the bytes of a
// download, so a client can tell a whole, correct body from a cut or corrupted one.

export type ReplicaMode =
  | { readonly kind: 'normal' }
  | { readonly kind: 'slow'; readonly delayMs: number }
  | { readonly kind: 'reset' };

const PATTERN = Buffer.from(Array.from({ length: 251 }, (_, i) => i));

/** `size` bytes where byte i is i mod 251 (a prime, so no power-of-two chunking hides a shift). */
export function blobBytes(size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  for (let at = 0; at < size; at += PATTERN.length)
    PATTERN.copy(out, at, 0, Math.min(PATTERN.length, size - at));
  return out;
}

/** Whether `chunk`, found at `offset` of a download, holds the pattern's bytes. */
export function blobMatches(chunk: Buffer, offset: number): boolean {
  for (let i = 0; i < chunk.length; i++) if (chunk[i] !== (offset + i) % 251) return false;
  return true;
}
