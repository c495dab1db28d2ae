import type { Ring, RingMember } from '../ring.js';

/**
 * Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam 2018), as a wrapper over any
 * ring: a member already holding its cap of in-flight requests, ceil(c × (total + 1) / N), is skipped
 * for the next member in the inner ring's order (HAProxy's hash-balance-factor, Envoy's
 * hash_balance_factor). Same key → same member while loads allow. The cap counts the request being
 * placed, so some member is always under it when c ≥ 1.
 */
export class BoundedLoadRing implements Ring {
  readonly inner: Ring;
  readonly members: readonly RingMember[];
  readonly balanceFactor: number;
  readonly #loads: Int32Array;

  constructor(inner: Ring, loads: Int32Array, balanceFactor: number) {
    this.inner = inner;
    this.members = inner.members;
    this.#loads = loads;
    this.balanceFactor = balanceFactor;
  }

  /** The most in-flight requests a member may hold, the next request included. */
  cap(): number {
    let total = 0;
    for (let i = 0; i < this.#loads.length; i++) total += this.#loads[i]!;
    return Math.ceil((this.balanceFactor * (total + 1)) / this.members.length);
  }

  /**
   * Attempt k is the k-th member under the cap in the inner order, then the members at the cap in the
   * inner order, so attempts 0..N-1 name every member once while loads stay still.
   */
  pick(key: number, attempt = 0): number {
    const n = this.members.length;
    if (n === 0 || attempt >= n) return -1;
    const loads = this.#loads;
    let total = 0;
    for (let i = 0; i < loads.length; i++) total += loads[i]!;
    // load < ceil(c × (total + 1) / n)  ⇔  load × n < c × (total + 1), for an integer load.
    const limit = this.balanceFactor * (total + 1);
    let found = 0;
    for (let a = 0; a < n; a++) {
      const index = this.inner.pick(key, a);
      if (loads[index]! * n < limit && found++ === attempt) return index;
    }
    for (let a = 0; a < n; a++) {
      const index = this.inner.pick(key, a);
      if (loads[index]! * n >= limit && found++ === attempt) return index;
    }
    return -1;
  }

  shares(): number[] {
    return this.inner.shares();
  }
}

/** The ring that decides key ownership, loads aside. */
export function unbounded(ring: Ring): Ring {
  return ring instanceof BoundedLoadRing ? ring.inner : ring;
}
