import type { Socket } from 'node:net';
import { BodyFraming } from '../http1/body-framing.js';
import { PER_REQUEST_BUFFER_LIMIT_BYTES, ReplayBuffer } from '../replay-buffer.js';
import type { Exchange } from './exchange.js';
import { bodyBytesRead } from './read-garbage.js';
import type { UpstreamConnection } from './upstream-connection.js';

const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');

/** What a request body tells the request it belongs to. */
export interface BodyOwner extends Exchange {
  /** The last body byte has arrived from the client (and, when attached, was written upstream). */
  bodyReceived(): void;
}

/**
 * One request body on its way from the client socket to the replica's connection, never held whole:
 * bytes are written upstream as they arrive, and the client socket is paused while the upstream
 * socket's buffer is full (resumed on its drain), or while more than the replay limit waits for a
 * connection. The first PER_REQUEST_BUFFER_LIMIT_BYTES are kept, so that a failed attempt can be
 * sent again, whole, to the next replica.
 */
export class RequestBody {
  readonly #owner: BodyOwner;
  readonly #client: Socket;
  readonly #framing: BodyFraming;
  readonly #replay = new ReplayBuffer();
  /** Bytes that arrived while no connection was attached (all of them for the first attempt). */
  #unsent: Buffer[] = [];
  #unsentBytes = 0;
  #connection: UpstreamConnection | null = null;
  /** Whether this attempt's connection has been told the body is written whole. */
  #written = false;
  #pausedForUpstream = false;
  #pausedForConnection = false;
  /** This attempt's body already left in its head's write (see withHead). */
  #sentWithHead = false;
  /**
   * `Expect: 100-continue`, still to be answered. The balancer answers it itself, once a replica's
   * connection takes the request, and does not pass the expectation on: the body is then kept for a
   * retry like any other (a replica's own 100 would come once per attempt and could not be told
   * apart), and replicas that answer at once without a 100 (nginx's `return`) do not stall the client.
   */
  #continueOwed: boolean;
  readonly #drained = () => this.#upstreamDrained();

  constructor(owner: BodyOwner, client: Socket, framing: BodyFraming, expectContinue: boolean) {
    this.#owner = owner;
    this.#client = client;
    this.#framing = framing;
    this.#continueOwed = expectContinue;
  }

  /** Whether the whole body has arrived from the client. */
  get received(): boolean {
    return this.#framing.done;
  }

  /** Whether the request could be sent again with its whole body (it fits the replay buffer). */
  get replayable(): boolean {
    return this.#replay.replayable;
  }

  /** Body bytes received so far. */
  get bytes(): number {
    return this.#replay.bytes;
  }

  /**
   * Takes the body's bytes out of `buf[start, end)`; returns where the body ends (or `end`). Throws
   * an HttpParseError when the framing is broken or the body passes `--max-body-size`.
   */
  receive(buf: Buffer, start: number, end: number): number {
    const stop = this.#framing.take(buf, start, end);
    if (stop > start) {
      bodyBytesRead(stop - start);
      const chunk = start === 0 && stop === buf.length ? buf : buf.subarray(start, stop);
      this.#replay.push(chunk);
      if (this.#connection) {
        if (!this.#connection.writeBody(chunk)) this.#waitForUpstream();
      } else {
        this.#unsent.push(chunk);
        this.#unsentBytes += chunk.length;
        if (this.#unsentBytes > PER_REQUEST_BUFFER_LIMIT_BYTES && !this.#pausedForConnection) {
          this.#pausedForConnection = true;
          this.#client.pause();
        }
      }
    }
    if (this.#framing.done) {
      this.#finishWrite();
      this.#owner.bodyReceived();
    }
    return stop;
  }

  /**
   * The head and the whole body in one buffer, when the body has arrived whole (the usual small POST
   * comes in the head's read) and is at most `limit` bytes: one write upstream instead of two, and
   * no body bookkeeping on the stream. Null otherwise; the body then follows the head on `attach`.
   */
  withHead(head: Buffer, limit: number): Buffer | null {
    if (!this.#framing.done || this.#connection || !this.#replay.replayable || this.#replay.bytes > limit) {
      return null;
    }
    const out = Buffer.allocUnsafe(head.length + this.#replay.bytes);
    head.copy(out, 0);
    let at = head.length;
    for (const chunk of this.#replay.chunks) at += chunk.copy(out, at);
    this.#sentWithHead = true;
    return out;
  }

  /** A replica's connection took the request (its head is written): the body follows it. */
  attach(connection: UpstreamConnection): void {
    this.#connection = connection;
    this.#written = false;
    if (this.#sentWithHead) {
      this.#sentWithHead = false;
      this.#unsent = [];
      this.#unsentBytes = 0;
      this.#finishWrite();
      return;
    }
    if (this.#continueOwed) {
      this.#continueOwed = false;
      if (this.#replay.bytes === 0 && !this.#framing.done) this.#client.write(CONTINUE);
    }
    // A retry sends the whole body again; the first attempt what has arrived so far.
    const chunks = this.#replay.replayable ? this.#replay.chunks : this.#unsent;
    let full = false;
    for (const chunk of chunks) full = !connection.writeBody(chunk) || full;
    this.#unsent = [];
    this.#unsentBytes = 0;
    if (this.#pausedForConnection) {
      this.#pausedForConnection = false;
      if (!full) this.#client.resume();
    }
    if (full) this.#waitForUpstream();
    if (this.#framing.done) this.#finishWrite();
  }

  /** The attempt failed: what arrives next waits for the next attempt's connection. */
  detach(): void {
    this.#connection = null;
    this.#written = false;
    if (this.#pausedForUpstream) {
      this.#pausedForUpstream = false;
      this.#client.resume();
    }
  }

  /** The body will not be finished (the client left, or it was refused): its connection is cut. */
  cut(): void {
    const connection = this.#connection;
    this.#connection = null;
    if (connection && !this.#written) connection.abort(this.#owner);
  }

  #finishWrite(): void {
    if (!this.#connection || this.#written) return;
    this.#written = true;
    this.#connection.bodyWritten(this.#owner);
  }

  #waitForUpstream(): void {
    if (this.#pausedForUpstream || !this.#connection) return;
    this.#pausedForUpstream = true;
    this.#client.pause();
    this.#connection.onceDrained(this.#drained);
  }

  #upstreamDrained(): void {
    if (!this.#pausedForUpstream) return;
    this.#pausedForUpstream = false;
    this.#client.resume();
  }
}
