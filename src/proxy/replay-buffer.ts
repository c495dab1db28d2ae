/**
 * How many bytes of a request body are kept so that the request can be sent again to another
 * replica (Envoy's `per_request_buffer_limit_bytes`, its retry buffer). A body that outgrows it is
 * still streamed, but the request is no longer retried once any of it may have reached a replica:
 * the bytes needed to send it again are gone. The retry policy asks `bodyReplayable`.
 */
export const PER_REQUEST_BUFFER_LIMIT_BYTES = 64 * 1024;

/**
 * The body bytes seen so far while they fit the limit; once they do not, they are dropped for good
 * and only `replayable` (false) remains.
 */
export class ReplayBuffer {
  readonly #limit: number;
  #chunks: Buffer[] | null = [];
  #bytes = 0;

  constructor(limit = PER_REQUEST_BUFFER_LIMIT_BYTES) {
    this.#limit = limit;
  }

  /** Whether every body byte seen so far is still here. */
  get replayable(): boolean {
    return this.#chunks !== null;
  }

  /** Body bytes seen so far, kept or not. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The kept bytes, in order (empty once dropped). */
  get chunks(): readonly Buffer[] {
    return this.#chunks ?? [];
  }

  /** Whether `push` of `bytes` more would keep them. */
  keeps(bytes: number): boolean {
    return this.#chunks !== null && this.#bytes + bytes <= this.#limit;
  }

  /** Keeps `chunk` (not copied: the caller must not reuse its memory) while the body fits. */
  push(chunk: Buffer): void {
    this.#bytes += chunk.length;
    if (this.#chunks === null) return;
    if (this.#bytes > this.#limit) this.#chunks = null;
    else this.#chunks.push(chunk);
  }
}
