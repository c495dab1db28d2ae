import type { Readable, Writable } from 'node:stream';
import { ReplayBuffer } from '../proxy/replay-buffer.js';

/** Where one attempt's copy of a request body goes: an h2c stream, or a fast-pool connection. */
export interface BodyTarget {
  /** False when the target's buffer is full: `onceDrained` then says when to go on. */
  write(chunk: Buffer): boolean;
  onceDrained(drained: () => void): void;
  /** The body is complete. */
  end(): void;
}

/** A Writable (an h2c request stream, a PassThrough) as a body target. */
export function writableTarget(writable: Writable): BodyTarget {
  return {
    write: (chunk) => writable.write(chunk),
    onceDrained: (drained) => void writable.once('drain', drained),
    end: () => void writable.end(),
  };
}

/**
 * A request body read once from the client and written to one replica at a time, with backpressure
 * both ways. The bytes are also kept in the router's replay buffer, so that another attempt can be
 * sent the whole body again; past its limit the request can no longer be retried.
 */
export class ReplayBody {
  readonly #source: Readable;
  readonly #kept = new ReplayBuffer();
  /** Bytes read from the client so far, against `--max-body-size` (0: no limit). */
  #received = 0;
  readonly #limit: number;
  readonly #tooLarge: () => void;
  #ended = false;
  #discarding = false;
  #target: BodyTarget | null = null;
  #waiting = false;
  readonly #resume = () => {
    this.#waiting = false;
    if (this.#target) this.#source.resume();
  };

  /**
   * `tooLarge` is called once the body passes `limit` bytes (0: no limit), whatever it declared: a
   * stream without a Content-Length, or longer than the one it gave, is cut there as well.
   */
  constructor(source: Readable, limit = 0, tooLarge: () => void = () => undefined) {
    this.#source = source;
    this.#limit = limit;
    this.#tooLarge = tooLarge;
    source.on('data', (chunk: Buffer) => this.#onData(chunk));
    source.on('end', () => {
      this.#ended = true;
      this.#target?.end();
    });
    source.pause();
  }

  /** Whether every byte read so far is still kept, so the body can be sent again. */
  get replayable(): boolean {
    return this.#kept.replayable;
  }

  /** Sends the body to `target`: what was read already, then the rest as it comes. */
  attach(target: BodyTarget): void {
    this.#target = target;
    let full = false;
    for (const chunk of this.#kept.chunks) full = !target.write(chunk) || full;
    if (this.#ended) {
      target.end();
      return;
    }
    if (full) this.#wait(target);
    else this.#source.resume();
  }

  /** The attempt is over: stop writing to its replica (and reading, until the next attach). */
  detach(): void {
    this.#target = null;
    this.#source.pause();
  }

  /**
   * The request is over: whatever of the body is still coming is read and dropped (a stream with
   * unread data is never destroyed, and its session would outlive its connection).
   */
  discard(): void {
    this.#target = null;
    this.#discarding = true;
    this.#source.resume();
  }

  #wait(target: BodyTarget): void {
    this.#source.pause();
    if (this.#waiting) return;
    this.#waiting = true;
    target.onceDrained(this.#resume);
  }

  #onData(chunk: Buffer): void {
    if (this.#discarding) return;
    this.#received += chunk.length;
    if (this.#limit > 0 && this.#received > this.#limit) {
      this.discard();
      this.#tooLarge();
      return;
    }
    this.#kept.push(chunk);
    const target = this.#target;
    if (!target) {
      this.#source.pause();
      return;
    }
    if (!target.write(chunk)) this.#wait(target);
  }
}
