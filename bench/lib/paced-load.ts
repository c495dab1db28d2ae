import { sleep } from './net.js';

export interface PacedLoadOptions {
  /** Calls of `one` in flight at most. */
  readonly concurrency: number;
  /** Calls started per second at most, over all loops; 0 for as fast as the concurrency allows. */
  readonly rate: number;
}

/**
 * Constant, bounded load: `concurrency` loops that each await `one()` and start the next call at
 * the next free slot of a shared schedule paced to `rate`, until `stop()`. What a call does and
 * how it is counted is the caller's.
 */
export class PacedLoad {
  #stopped = false;
  #nextSlot = 0;
  #loops: Promise<void>[] = [];

  constructor(
    readonly options: PacedLoadOptions,
    readonly one: () => Promise<void>,
  ) {}

  get stopped(): boolean {
    return this.#stopped;
  }

  start(startedAt = Date.now()): void {
    this.#nextSlot = startedAt;
    for (let i = 0; i < this.options.concurrency; i++) this.#loops.push(this.#loop());
  }

  /** Stops starting calls and waits for those in flight (each must bound its own time). */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#loops);
  }

  async #loop(): Promise<void> {
    const interval = this.options.rate > 0 ? 1000 / this.options.rate : 0;
    while (!this.#stopped) {
      if (interval > 0) {
        const now = performance.timeOrigin + performance.now();
        const slot = Math.max(this.#nextSlot, now);
        this.#nextSlot = slot + interval;
        if (slot - now >= 1) await sleep(slot - now);
        if (this.#stopped) return;
      }
      await this.one();
    }
  }
}
