/**
 * The one interface every ring algorithm implements. A ring is built once from a member set and is
 * immutable; membership changes build a new ring and swap it in, so readers never see a half-built one.
 * Nothing here knows about HTTP.
 */
export interface RingMember {
  /** Stable identity on the ring: the replica number (a replacement keeps it). */
  readonly number: number;
  readonly name: string;
  /** Relative share of keys (default 1); honoured by algorithms that support weights. */
  readonly weight?: number;
}

export interface Ring {
  /** Members in the order that `pick` indexes them (sorted by number). */
  readonly members: readonly RingMember[];
  /**
   * The member index for `key`, or -1 when the ring is empty. `attempt` 0 is the owner; attempt k is
   * the k-th next distinct member in the ring's order (for retries). No allocation, no I/O.
   */
  pick(key: number, attempt?: number): number;
  /** Each member's share of the key space, indexed like `members`; sums to 1 when non-empty. */
  shares(): number[];
}

/**
 * Builds a ring from the healthy members. `loads` holds each member's in-flight requests, indexed like
 * the built ring's `members`; the data path keeps it current and bounded-load rings read it.
 */
export type BuildRing = (members: readonly RingMember[], loads: Int32Array) => Ring;

export function byNumber(a: RingMember, b: RingMember): number {
  return a.number - b.number;
}

/** `value mod m` in [0, m) for any safe integer, negative included. */
export function mod(value: number, m: number): number {
  const r = value % m;
  return r < 0 ? r + m : r;
}
