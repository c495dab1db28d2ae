import { ChunkedScanner } from './chunked-scanner.js';
import { HttpParseError } from './parse-error.js';

/**
 * Follows one request body through the reads it arrives in, by its framing (a Content-Length, or
 * chunked with the strict scanner), and counts its data bytes against a limit. It finds where the
 * body ends; the bytes themselves are passed on untouched by the caller.
 */
export class BodyFraming {
  readonly #limit: number;
  readonly #chunked: ChunkedScanner | null;
  /** Bytes still to come of a fixed-length body. */
  #remaining: number;
  /** Data bytes of a chunked body so far (framing excluded). */
  #data = 0;
  #done: boolean;
  readonly #count = (_buf: Uint8Array, from: number, to: number) => {
    this.#data += to - from;
  };

  /**
   * `contentLength` is the request's (-1 when chunked); `limit` the most data bytes accepted, 0 for
   * no limit. A fixed length over the limit is the caller's to refuse before anything is read.
   */
  constructor(contentLength: number, chunked: boolean, limit: number) {
    this.#limit = limit;
    this.#chunked = chunked ? new ChunkedScanner(400) : null;
    this.#remaining = chunked ? 0 : Math.max(0, contentLength);
    this.#done = !chunked && this.#remaining === 0;
  }

  get done(): boolean {
    return this.#done;
  }

  /**
   * Reads `buf[start, end)`; returns the offset just past the body's last byte when it ends inside
   * this range, else `end`. Throws an HttpParseError on broken chunked framing (400) or once a
   * chunked body passes the limit (413).
   */
  take(buf: Uint8Array, start: number, end: number): number {
    if (this.#done) return start;
    if (!this.#chunked) {
      const stop = Math.min(end, start + this.#remaining);
      this.#remaining -= stop - start;
      this.#done = this.#remaining === 0;
      return stop;
    }
    const stop = this.#chunked.scan(buf, start, end, this.#count);
    if (this.#limit > 0 && this.#data > this.#limit) {
      throw new HttpParseError(413, `the body is larger than ${this.#limit} bytes`);
    }
    if (stop < 0) return end;
    this.#done = true;
    return stop;
  }
}
