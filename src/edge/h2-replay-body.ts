import type { Readable, Writable } from 'node:stream';

/**
 * A request body read once from the client and written to one replica at a time, with backpressure
 * both ways. The bytes are also kept, up to `limit`, so that another attempt can be sent the whole
 * body again (Envoy's retry buffer: past the limit, the request can no longer be retried).
 */
export class ReplayBody {
  readonly #source: Readable;
  readonly #limit: number;
  #kept: Buffer[] = [];
  #size = 0;
  #overflowed = false;
  #ended = false;
  #target: Writable | null = null;
  #discarding = false;
  readonly #resume = () => this.#source.resume();

  constructor(source: Readable, limit: number) {
    this.#source = source;
    this.#limit = limit;
    source.on('data', (chunk: Buffer) => this.#onData(chunk));
    source.on('end', () => {
      this.#ended = true;
      this.#target?.end();
    });
    source.pause();
  }

  /** Whether every byte read so far is still kept, so the body can be sent again. */
  get replayable(): boolean {
    return !this.#overflowed;
  }

  /** Sends the body to `target`: what was read already, then the rest as it comes. */
  attach(target: Writable): void {
    this.#target = target;
    target.on('drain', this.#resume);
    let full = false;
    for (const chunk of this.#kept) full = !target.write(chunk) || full;
    if (this.#ended) target.end();
    else if (!full) this.#source.resume();
  }

  /** The attempt is over: stop writing to its replica (and reading, until the next attach). */
  detach(): void {
    this.#target?.off('drain', this.#resume);
    this.#target = null;
    this.#source.pause();
  }

  /**
   * The request is over: whatever of the body is still coming is read and dropped (a stream with
   * unread data is never destroyed, and its session would outlive its connection).
   */
  discard(): void {
    this.detach();
    this.#discarding = true;
    this.#kept = [];
    this.#overflowed = true;
    this.#source.resume();
  }

  #onData(chunk: Buffer): void {
    if (this.#discarding) return;
    if (!this.#overflowed) {
      this.#size += chunk.length;
      if (this.#size > this.#limit) {
        this.#overflowed = true;
        this.#kept = [];
      } else this.#kept.push(chunk);
    }
    const target = this.#target;
    if (!target) {
      this.#source.pause();
      return;
    }
    if (!target.write(chunk)) this.#source.pause();
  }
}
