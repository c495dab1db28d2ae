/**
 * Passive health: counts each replica's consecutive failed requests (connection failures, resets,
 * timeouts, 5xx) as the data path sees them, and names a replica an outlier once it reaches the
 * threshold. One success clears its count. Whether it is ejected is membership's call.
 */
export class OutlierDetector {
  readonly #threshold: number;
  readonly #onOutlier: (replica: string, reason: string) => void;
  readonly #failures = new Map<string, number>();

  constructor(threshold: number, onOutlier: (replica: string, reason: string) => void) {
    this.#threshold = threshold;
    this.#onOutlier = onOutlier;
  }

  success(replica: string): void {
    if (this.#failures.size > 0) this.#failures.delete(replica);
  }

  failure(replica: string, reason: string): void {
    const count = (this.#failures.get(replica) ?? 0) + 1;
    if (count < this.#threshold) {
      this.#failures.set(replica, count);
      return;
    }
    this.#failures.delete(replica);
    this.#onOutlier(replica, `${count} failed requests in a row (last: ${reason})`);
  }
}
