/**
 * Which members a walk has met, for retry orders ("the k-th next distinct member") without
 * allocating or clearing per call: a member is marked with the current generation.
 */
export class SeenSet {
  readonly #stamps: Uint32Array;
  #generation = 0;

  constructor(size: number) {
    this.#stamps = new Uint32Array(size);
  }

  /** Starts a new walk: every member unseen. */
  clear(): void {
    this.#generation++;
    if (this.#generation === 0xffffffff) {
      this.#stamps.fill(0);
      this.#generation = 1;
    }
  }

  /** Marks `index`; true when it had not been seen in this walk. */
  add(index: number): boolean {
    if (this.#stamps[index] === this.#generation) return false;
    this.#stamps[index] = this.#generation;
    return true;
  }
}
