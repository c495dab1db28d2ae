/**
 * Passive health: watches each replica's requests as the data path sees them (connection failures,
 * resets, timeouts and 5xx count as failures) and names a replica an outlier when either
 * - N requests in a row failed (Envoy's consecutive_5xx), or
 * - N of its last 2N requests failed, so a replica that fails every other request is caught too
 *   (a consecutive count alone never reaches N for it).
 * Whether it is ejected is membership's call. A replica with no recent failure costs one map miss.
 */
export class OutlierDetector {
  readonly #threshold: number;
  readonly #onOutlier: (replica: string, reason: string) => void;
  readonly #recent = new Map<string, RecentRequests>();

  constructor(threshold: number, onOutlier: (replica: string, reason: string) => void) {
    this.#threshold = threshold;
    this.#onOutlier = onOutlier;
  }

  success(replica: string): void {
    if (this.#recent.size === 0) return;
    const recent = this.#recent.get(replica);
    if (recent === undefined) return;
    recent.push(false);
    if (recent.failures === 0) this.#recent.delete(replica);
  }

  failure(replica: string, reason: string): void {
    if (this.#threshold <= 0) return;
    let recent = this.#recent.get(replica);
    if (recent === undefined) {
      recent = new RecentRequests(this.#threshold * 2);
      this.#recent.set(replica, recent);
    }
    recent.push(true);
    const inARow = recent.inARow >= this.#threshold;
    if (!inARow && recent.failures < this.#threshold) return;
    this.#recent.delete(replica);
    this.#onOutlier(
      replica,
      inARow
        ? `${recent.inARow} failed requests in a row (last: ${reason})`
        : `${recent.failures} of its last ${recent.seen} requests failed (last: ${reason})`,
    );
  }
}

/** The outcomes of a replica's last requests, in a fixed window. */
class RecentRequests {
  readonly #window: Uint8Array;
  #next = 0;
  seen = 0;
  failures = 0;
  inARow = 0;

  constructor(size: number) {
    this.#window = new Uint8Array(size);
  }

  push(failed: boolean): void {
    if (this.seen === this.#window.length) this.failures -= this.#window[this.#next]!;
    else this.seen++;
    this.#window[this.#next] = failed ? 1 : 0;
    this.#next = (this.#next + 1) % this.#window.length;
    if (failed) {
      this.failures++;
      this.inARow++;
    } else this.inARow = 0;
  }
}
