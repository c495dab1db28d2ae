import { HttpParseError } from './parse-error.js';
import { FIELD_CHAR } from './syntax.js';

const enum State {
  Size,
  Extension,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerStart,
  TrailerLine,
  TrailerLf,
  EndLf,
  Done,
}

const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX[0x30 + c] = c;
for (let c = 0; c < 6; c++) {
  HEX[0x41 + c] = 10 + c;
  HEX[0x61 + c] = 10 + c;
}

function latin1(buf: Uint8Array, from: number, to: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('latin1', from, to);
}

/** Largest chunk size accepted: 2^40 bytes; a longer hex string is an attack, not a chunk. */
const MAX_SIZE_DIGITS = 10;

/**
 * Follows a chunked body byte by byte to find where it ends, refusing malformed framing (non-hex or
 * overlong sizes, a missing CRLF after the data, bare LF, control characters in extensions or
 * trailers). The bytes themselves are forwarded as they are; `onData` sees the decoded data for a
 * receiver that cannot take chunked framing.
 */
export class ChunkedScanner {
  #state = State.Size;
  #digits = 0;
  #remaining = 0;
  #trailerBytes = 0;
  readonly #status: number;
  readonly #maxTrailerBytes: number;
  /** The trailer lines read so far, when kept (`keepTrailers`): for a receiver that frames them itself. */
  readonly trailerLines: string[] | null;
  /** The part of a trailer line that ended the previous range. */
  #line = '';

  constructor(status: number, maxTrailerBytes = 16 * 1024, keepTrailers = false) {
    this.#status = status;
    this.#maxTrailerBytes = maxTrailerBytes;
    this.trailerLines = keepTrailers ? [] : null;
  }

  get done(): boolean {
    return this.#state === State.Done;
  }

  /**
   * Scans `buf[start, end)`; returns the offset just past the body's end when it ends inside this
   * range, or -1 when more bytes are needed.
   */
  scan(
    buf: Uint8Array,
    start: number,
    end: number,
    onData?: (buf: Uint8Array, from: number, to: number) => void,
  ): number {
    let i = start;
    /** Where the trailer line in progress starts in this range (-1: none, or not kept). */
    let lineFrom = this.#state === State.TrailerLine && this.trailerLines ? start : -1;
    while (i < end) {
      const c = buf[i]!;
      switch (this.#state) {
        case State.Size: {
          const digit = HEX[c]!;
          if (digit >= 0) {
            if (++this.#digits > MAX_SIZE_DIGITS) this.#fail('chunk size too large');
            this.#remaining = this.#remaining * 16 + digit;
          } else if (this.#digits === 0) {
            this.#fail('invalid chunk size');
          } else if (c === 0x3b) {
            this.#state = State.Extension;
          } else if (c === 0x0d) {
            this.#state = State.SizeLf;
          } else {
            this.#fail('invalid chunk size');
          }
          i++;
          break;
        }
        case State.Extension:
          if (c === 0x0d) this.#state = State.SizeLf;
          else if (FIELD_CHAR[c] !== 1) this.#fail('invalid chunk extension');
          i++;
          break;
        case State.SizeLf:
          if (c !== 0x0a) this.#fail('chunk size line must end with CRLF');
          i++;
          this.#digits = 0;
          this.#state = this.#remaining === 0 ? State.TrailerStart : State.Data;
          break;
        case State.Data: {
          const take = Math.min(this.#remaining, end - i);
          if (onData) onData(buf, i, i + take);
          this.#remaining -= take;
          i += take;
          if (this.#remaining === 0) this.#state = State.DataCr;
          break;
        }
        case State.DataCr:
          if (c !== 0x0d) this.#fail('chunk data must end with CRLF');
          this.#state = State.DataLf;
          i++;
          break;
        case State.DataLf:
          if (c !== 0x0a) this.#fail('chunk data must end with CRLF');
          this.#state = State.Size;
          i++;
          break;
        case State.TrailerStart:
          if (c === 0x0d) this.#state = State.EndLf;
          else if (c === 0x20 || c === 0x09) this.#fail('obsolete line folding in trailer');
          else {
            this.#state = State.TrailerLine;
            if (this.trailerLines) lineFrom = i;
          }
          if (this.#state === State.TrailerLine) this.#countTrailer();
          i++;
          break;
        case State.TrailerLine:
          if (c === 0x0d) {
            this.#state = State.TrailerLf;
            if (lineFrom >= 0) {
              this.trailerLines!.push(this.#line + latin1(buf, lineFrom, i));
              this.#line = '';
              lineFrom = -1;
            }
          } else if (FIELD_CHAR[c] !== 1) this.#fail('invalid character in trailer');
          this.#countTrailer();
          i++;
          break;
        case State.TrailerLf:
          if (c !== 0x0a) this.#fail('trailer line must end with CRLF');
          this.#state = State.TrailerStart;
          i++;
          break;
        case State.EndLf:
          if (c !== 0x0a) this.#fail('chunked body must end with CRLF');
          this.#state = State.Done;
          return i + 1;
        case State.Done:
          return i;
      }
    }
    if (lineFrom >= 0) this.#line += latin1(buf, lineFrom, end);
    return this.#state === State.Done ? i : -1;
  }

  #countTrailer(): void {
    if (++this.#trailerBytes > this.#maxTrailerBytes) this.#fail('trailers too large');
  }

  #fail(message: string): never {
    throw new HttpParseError(this.#status, message);
  }
}
