import type { Socket } from 'node:net';
import { BodyFraming } from '../http1/body-framing.js';
import {
  giveReadBuffer,
  READ_BUFFER_BYTES,
  READ_STOP_BODY,
  READ_STOP_HELD,
  takeReadBuffer,
  type ReadBuffer,
} from './client-reads.js';
import { PER_REQUEST_BUFFER_LIMIT_BYTES, ReplayBuffer } from '../replay-buffer.js';
import type { Exchange } from './exchange.js';
import { bodyBytesRead } from './read-garbage.js';
import type { UpstreamConnection } from './upstream-connection.js';

/** Copies up to this size go to Node's shared buffer pool (Buffer.from), as any small buffer does. */
const SMALL_COPY_BYTES = 4 * 1024;

const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');

/** What a request body tells the request it belongs to. */
export interface BodyOwner extends Exchange {
  /** The last body byte has arrived from the client (and, when attached, was written upstream). */
  bodyReceived(): void;
}

/** The client connection as its request body sees it (FrontConnection). */
export interface BodySource {
  readonly socket: Socket;
  /** Stops reading the client for `reason` (READ_STOP_*) until `goOn(reason)`. */
  stopReading(reason: number): void;
  goOn(reason: number): void;
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
  readonly #client: BodySource;
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
  /** Writes of bytes in the client's read buffer, counted; the one reads are held for, or 0. */
  #borrowedWrites = 0;
  #heldFor = 0;
  /**
   * A reused 64 KiB block that kept bytes of larger reads are copied into, in order, instead of a
   * fresh allocation each (an upload's first read would be one); given back by `dispose`.
   */
  #copies: Buffer | null = null;
  #copied = 0;
  /** The connection body bytes were written to (a write to it may still use `#copies`). */
  #writtenTo: UpstreamConnection | null = null;
  /** Body bytes went to more than one connection (a retry): `#copies` is not reused. */
  #writtenToMore = false;
  /**
   * `Expect: 100-continue`, still to be answered. The balancer answers it itself, once a replica's
   * connection takes the request, and does not pass the expectation on: the body is then kept for a
   * retry like any other (a replica's own 100 would come once per attempt and could not be told
   * apart), and replicas that answer at once without a 100 (nginx's `return`) do not stall the client.
   */
  #continueOwed: boolean;
  readonly #drained = () => this.#upstreamDrained();

  constructor(owner: BodyOwner, client: BodySource, framing: BodyFraming, expectContinue: boolean) {
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
   * Takes the body's bytes out of `buf[start, end)`, which are in `where` (see ReadBuffer); returns
   * where the body ends (or `end`). Throws an HttpParseError when the framing is broken or the body
   * passes `--max-body-size`.
   */
  receive(buf: Buffer, start: number, end: number, where: ReadBuffer = 'own'): number {
    const stop = this.#framing.take(buf, start, end);
    if (stop > start) {
      let chunk = start === 0 && stop === buf.length ? buf : buf.subarray(start, stop);
      const connection = this.#connection;
      if (where === 'own') bodyBytesRead(stop - start);
      else if (where === 'shared' || connection === null || this.#replay.keeps(chunk.length)) {
        // Kept past this read (for a retry, or until a connection takes it): a copy of its own.
        chunk = this.#copy(chunk);
        where = 'own';
      }
      this.#replay.push(chunk);
      if (connection) {
        this.#wroteTo(connection);
        if (where === 'private') this.#writeBorrowed(connection, chunk);
        else if (!connection.writeBody(chunk)) this.#waitForUpstream();
      } else {
        this.#unsent.push(chunk);
        this.#unsentBytes += chunk.length;
        if (this.#unsentBytes > PER_REQUEST_BUFFER_LIMIT_BYTES && !this.#pausedForConnection) {
          this.#pausedForConnection = true;
          this.#client.stopReading(READ_STOP_BODY);
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
      if (this.#replay.bytes === 0 && !this.#framing.done) this.#client.socket.write(CONTINUE);
    }
    // A retry sends the whole body again; the first attempt what has arrived so far.
    const chunks = this.#replay.replayable ? this.#replay.chunks : this.#unsent;
    if (chunks.length > 0) this.#wroteTo(connection);
    let full = false;
    for (const chunk of chunks) full = !connection.writeBody(chunk) || full;
    this.#unsent = [];
    this.#unsentBytes = 0;
    if (this.#pausedForConnection) {
      this.#pausedForConnection = false;
      if (!full) this.#client.goOn(READ_STOP_BODY);
    }
    if (full) this.#waitForUpstream();
    if (this.#framing.done) this.#finishWrite();
  }

  /** The attempt failed: what arrives next waits for the next attempt's connection. */
  detach(): void {
    this.#connection = null;
    this.#written = false;
    this.#release();
    if (this.#pausedForUpstream) {
      this.#pausedForUpstream = false;
      this.#client.goOn(READ_STOP_BODY);
    }
  }

  /** The body will not be finished (the client left, or it was refused): its connection is cut. */
  cut(): void {
    const connection = this.#connection;
    this.#connection = null;
    if (connection && !this.#written) connection.abort(this.#owner);
    this.#release();
  }

  /**
   * A copy of bytes of a reused read buffer: small ones in Node's buffer pool, larger ones in this
   * body's block while they fit (the replay buffer's limit is the block's size), else on their own
   * (garbage soon after, like a read buffer of Node's: see bodyBytesRead).
   */
  #copy(chunk: Buffer): Buffer {
    if (chunk.length <= SMALL_COPY_BYTES) return Buffer.from(chunk);
    if (chunk.length <= READ_BUFFER_BYTES - this.#copied) {
      this.#copies ??= takeReadBuffer();
      const at = this.#copied;
      this.#copied += chunk.copy(this.#copies, at);
      return this.#copies.subarray(at, this.#copied);
    }
    bodyBytesRead(chunk.length);
    return Buffer.from(chunk);
  }

  /**
   * The exchange is over: the copy block goes back for reuse, unless a write to a replica that
   * has not passed it on whole may still use it (then it is left to the collector).
   */
  dispose(): void {
    const copies = this.#copies;
    if (copies === null) return;
    this.#copies = null;
    if (!this.#writtenToMore && !this.#writtenTo?.unflushed) giveReadBuffer(copies);
  }

  #wroteTo(connection: UpstreamConnection): void {
    if (this.#writtenTo !== null && this.#writtenTo !== connection) this.#writtenToMore = true;
    this.#writtenTo = connection;
  }

  /**
   * Writes bytes of the client connection's own read buffer, which its next read overwrites: while
   * the socket has not passed them on whole, the client is not read (nginx reuses its buffer the
   * same way). That is the backpressure, too.
   */
  #writeBorrowed(connection: UpstreamConnection, chunk: Buffer): void {
    const write = ++this.#borrowedWrites;
    connection.writeBody(chunk, () => {
      if (this.#heldFor === write) this.#release();
    });
    if (connection.unflushed) {
      this.#heldFor = write;
      this.#client.stopReading(READ_STOP_HELD);
    }
  }

  /** No write uses the client's read buffer any more (written, or its connection is gone). */
  #release(): void {
    if (this.#heldFor === 0) return;
    this.#heldFor = 0;
    this.#client.goOn(READ_STOP_HELD);
  }

  #finishWrite(): void {
    if (!this.#connection || this.#written) return;
    this.#written = true;
    this.#connection.bodyWritten(this.#owner);
  }

  #waitForUpstream(): void {
    if (this.#pausedForUpstream || !this.#connection) return;
    this.#pausedForUpstream = true;
    this.#client.stopReading(READ_STOP_BODY);
    this.#connection.onceDrained(this.#drained);
  }

  #upstreamDrained(): void {
    if (!this.#pausedForUpstream) return;
    this.#pausedForUpstream = false;
    this.#client.goOn(READ_STOP_BODY);
  }
}
