import { RinglbError } from '../../core/errors.js';
import { byNumber, mod, type Ring, type RingMember } from '../ring.js';

/**
 * The seed's ring, bit-exact: `ringSize` slots, `vnodes` virtual nodes per replica,
 *   request slot       H(i)    = i² + 2i + 17       (mod ringSize)
 *   virtual node slot  Φ(i, j) = i² + j² + 2j + 25  (mod ringSize), j = 0 .. vnodes-1
 * linear probing to the next free slot when Φ lands on a taken one, and a request goes to the first
 * virtual node clockwise from its slot (its own slot included).
 */
export interface ClassicRingOptions {
  readonly ringSize: number;
  readonly vnodes: number;
}

export const CLASSIC_DEFAULTS: ClassicRingOptions = { ringSize: 512, vnodes: 9 };

/** H(i). Reduces i first so that i² stays exact for any safe integer. */
export function requestSlot(id: number, ringSize: number): number {
  const r = mod(id, ringSize);
  return (((r * r) % ringSize) + 2 * r + 17) % ringSize;
}

/** Φ(i, j) before probing. */
export function virtualNodeSlot(replica: number, vnode: number, ringSize: number): number {
  const i = mod(replica, ringSize);
  const j = mod(vnode, ringSize);
  return (((i * i) % ringSize) + ((j * j) % ringSize) + 2 * j + 25) % ringSize;
}

/** How many replicas fit: every virtual node needs a slot of its own. */
export function classicCapacity(options: ClassicRingOptions): number {
  return Math.floor(options.ringSize / options.vnodes);
}

export class ClassicRing implements Ring {
  readonly members: readonly RingMember[];
  /** slot → member index of the virtual node placed there, or -1. */
  readonly placement: Int32Array;
  /** slot → member index of the first virtual node clockwise (the slot itself included). */
  readonly #owner: Int32Array;
  /** Scratch for `pick` with attempt > 0, so that it allocates nothing. */
  readonly #seen: Uint8Array;
  readonly #ringSize: number;

  constructor(members: readonly RingMember[], options: ClassicRingOptions = CLASSIC_DEFAULTS) {
    const { ringSize, vnodes } = options;
    if (members.length > classicCapacity(options)) {
      throw new RinglbError(
        'ERR_RING_FULL',
        `the ring has room for at most ${classicCapacity(options)} replicas (${ringSize} slots, ${vnodes} virtual nodes each)`,
      );
    }
    // Sorting by number makes the ring a function of the member set, not of the order it was given in.
    this.members = [...members].sort(byNumber);
    this.#ringSize = ringSize;
    this.placement = new Int32Array(ringSize).fill(-1);
    this.members.forEach((member, index) => {
      for (let j = 0; j < vnodes; j++) {
        let slot = virtualNodeSlot(member.number, j, ringSize);
        while (this.placement[slot] !== -1) slot = (slot + 1) % ringSize;
        this.placement[slot] = index;
      }
    });
    this.#owner = new Int32Array(ringSize).fill(-1);
    if (this.members.length > 0) {
      // Walk counter-clockwise twice so that slots after the last virtual node wrap to the first one.
      let next = -1;
      for (let step = 2 * ringSize - 1; step >= 0; step--) {
        const slot = step % ringSize;
        if (this.placement[slot] !== -1) next = this.placement[slot]!;
        this.#owner[slot] = next;
      }
    }
    this.#seen = new Uint8Array(this.members.length);
  }

  pick(key: number, attempt = 0): number {
    if (this.members.length === 0) return -1;
    const slot = requestSlot(key, this.#ringSize);
    if (attempt === 0) return this.#owner[slot]!;
    if (attempt >= this.members.length) return -1;
    // The k-th next distinct member clockwise: walk the placement from the request's slot.
    this.#seen.fill(0);
    let distinct = 0;
    for (let step = 0; step < this.#ringSize; step++) {
      const index = this.placement[(slot + step) % this.#ringSize]!;
      if (index === -1 || this.#seen[index] === 1) continue;
      if (distinct === attempt) return index;
      this.#seen[index] = 1;
      distinct++;
    }
    return -1;
  }

  shares(): number[] {
    const counts = new Array<number>(this.members.length).fill(0);
    for (const index of this.#owner) if (index >= 0) counts[index]!++;
    return counts.map((count) => count / this.#ringSize);
  }
}
