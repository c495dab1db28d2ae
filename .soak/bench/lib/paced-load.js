import { sleep } from './net.js';
/**
 * Constant, bounded load: `concurrency` loops that each await `one()` and start the next call at
 * the next free slot of a shared schedule paced to `rate`, until `stop()`. What a call does and
 * how it is counted is the caller's.
 */
export class PacedLoad {
    options;
    one;
    #stopped = false;
    #nextSlot = 0;
    #loops = [];
    constructor(options, one) {
        this.options = options;
        this.one = one;
    }
    get stopped() {
        return this.#stopped;
    }
    start(startedAt = Date.now()) {
        this.#nextSlot = startedAt;
        for (let i = 0; i < this.options.concurrency; i++)
            this.#loops.push(this.#loop());
    }
    /** Stops starting calls and waits for those in flight (each must bound its own time). */
    async stop() {
        this.#stopped = true;
        await Promise.all(this.#loops);
    }
    async #loop() {
        const interval = this.options.rate > 0 ? 1000 / this.options.rate : 0;
        while (!this.#stopped) {
            if (interval > 0) {
                const now = performance.timeOrigin + performance.now();
                const slot = Math.max(this.#nextSlot, now);
                this.#nextSlot = slot + interval;
                if (slot - now >= 1)
                    await sleep(slot - now);
                if (this.#stopped)
                    return;
            }
            await this.one();
        }
    }
}
