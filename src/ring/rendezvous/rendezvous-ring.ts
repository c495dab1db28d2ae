import { fmix32, xxh32Int, xxh32String } from '../../core/xxhash32.js';
import { byNumber, type Ring, type RingMember } from '../ring.js';
import { weightOf } from '../weights.js';

/**
 * Rendezvous (highest random weight) hashing: a key goes to the member whose score for it is highest,
 * the score a mix of the key's hash and the member's name hash. O(N) per pick, no table: the small-N
 * reference that the table-based rings are measured against. Weights use the logarithmic method
 * (score = -w / ln u), which gives a member of weight w exactly a w / Σw share.
 */
const SAMPLE_KEYS = 1 << 16;

export class RendezvousRing implements Ring {
  readonly members: readonly RingMember[];
  readonly #seeds: Int32Array;
  readonly #weights: Float64Array;
  readonly #weighted: boolean;
  #shares: number[] | undefined;

  constructor(members: readonly RingMember[]) {
    this.members = [...members].sort(byNumber);
    this.#seeds = Int32Array.from(this.members, (m) => xxh32String(m.name));
    this.#weights = Float64Array.from(this.members, weightOf);
    this.#weighted = this.#weights.some((w) => w !== 1);
  }

  #score(hash: number, index: number): number {
    const mixed = fmix32(hash ^ this.#seeds[index]!);
    if (!this.#weighted) return mixed;
    // u in (0, 1): ln u < 0, so the score is positive and grows with the weight.
    return -this.#weights[index]! / Math.log((mixed + 0.5) / 4294967296);
  }

  pick(key: number, attempt = 0): number {
    const n = this.members.length;
    if (n === 0 || attempt >= n) return -1;
    const hash = xxh32Int(key);
    // Attempt k is the member with the (k+1)-th highest score: ranks are (score desc, index asc).
    let boundScore = Infinity;
    let boundIndex = -1;
    for (let rank = 0; rank <= attempt; rank++) {
      let best = -1;
      let bestScore = -1;
      for (let i = 0; i < n; i++) {
        const score = this.#score(hash, i);
        const belowBound = score < boundScore || (score === boundScore && i > boundIndex);
        if (belowBound && score > bestScore) {
          best = i;
          bestScore = score;
        }
      }
      boundScore = bestScore;
      boundIndex = best;
    }
    return boundIndex;
  }

  /** Measured over 2^16 keys (rendezvous has no table to count), computed once. */
  shares(): number[] {
    if (!this.#shares) {
      const counts = new Array<number>(this.members.length).fill(0);
      if (this.members.length > 0) for (let key = 0; key < SAMPLE_KEYS; key++) counts[this.pick(key)]!++;
      this.#shares = counts.map((count) => count / SAMPLE_KEYS);
    }
    return [...this.#shares];
  }
}
