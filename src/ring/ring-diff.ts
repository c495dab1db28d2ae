import { unbounded } from './bounded/bounded-load-ring.js';
import { movedFraction } from './moved.js';
import type { Ring } from './ring.js';

/** A hash key as the operator wrote it, and the number `--hash-key` turns it into. */
export interface NamedKey {
  readonly text: string;
  readonly hash: number;
}

export interface ShareChange {
  readonly before: number;
  readonly after: number;
}

export interface OwnerChange {
  /** The member that owns the key, or null on an empty ring. */
  readonly before: string | null;
  readonly after: string | null;
}

/** What swapping `before` for `after` does to the key space: the preview of a ring change. */
export interface RingDiff {
  /** The fraction of the key space that changes owner, measured as a real change measures it. */
  readonly moved: number;
  /** Each member of either ring, by name: its share before and after (0 where absent). */
  readonly shares: Record<string, ShareChange>;
  /** Each named key's owner before and after, by the key's text. */
  readonly owners: Record<string, OwnerChange>;
}

function sharesByName(ring: Ring): Map<string, number> {
  const shares = ring.shares();
  return new Map(ring.members.map((member, i) => [member.name, shares[i]!]));
}

function ownerOf(ring: Ring, key: number): string | null {
  const index = ring.pick(key);
  return index < 0 ? null : ring.members[index]!.name;
}

/**
 * Compares two rings the way the cluster measures an applied change (ownership only, in-flight loads
 * aside), so a preview reports exactly what the change will. Pure.
 */
export function diffRings(before: Ring, after: Ring, keys: readonly NamedKey[] = []): RingDiff {
  const a = sharesByName(before);
  const b = sharesByName(after);
  // fromEntries defines own properties, so a key written "__proto__" is a key like any other.
  const shares: Record<string, ShareChange> = Object.fromEntries(
    [...new Set([...a.keys(), ...b.keys()])].map((name) => [
      name,
      { before: a.get(name) ?? 0, after: b.get(name) ?? 0 },
    ]),
  );
  const from = unbounded(before);
  const to = unbounded(after);
  const owners: Record<string, OwnerChange> = Object.fromEntries(
    keys.map((key) => [key.text, { before: ownerOf(from, key.hash), after: ownerOf(to, key.hash) }]),
  );
  return { moved: movedFraction(before, after), shares, owners };
}
