import { unbounded } from './bounded/bounded-load-ring.js';
import type { Ring } from './ring.js';

/** Keys 0 .. 2^16-1: mixed by the hashed rings, and every residue mod 512 alike for the classic ring. */
export const MOVED_SAMPLE_KEYS = 1 << 16;

/**
 * The fraction of the key space whose owner (by member name) differs between two rings, measured by
 * picking the same keys on both. In-flight loads are ignored: it is about ownership. A key owned by
 * no one (empty ring) counts as moved when the other ring owns it.
 */
export function movedFraction(before: Ring, after: Ring, keys = MOVED_SAMPLE_KEYS): number {
  const a = unbounded(before);
  const b = unbounded(after);
  if (a.members.length === 0 && b.members.length === 0) return 0;
  let moved = 0;
  for (let key = 0; key < keys; key++) {
    const i = a.pick(key);
    const j = b.pick(key);
    const from = i < 0 ? undefined : a.members[i]!.name;
    const to = j < 0 ? undefined : b.members[j]!.name;
    if (from !== to) moved++;
  }
  return moved / keys;
}
