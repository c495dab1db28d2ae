import { Socket, type OnReadOpts, type SocketConstructorOpts } from 'node:net';
import { ChunkedScanner } from '../http1/chunked-scanner.js';
import { HttpParseError } from '../http1/parse-error.js';
import { parseResponseHead, type ResponseHead } from '../http1/response-head.js';
import { UpstreamError, type Exchange } from './exchange.js';
import { bodyBytesRead } from './read-garbage.js';

/**
 * Each connection reads into one buffer of its own, again and again (net's `onread`), instead of
 * the fresh buffer Node gives every read: a 1 MiB response is 16 reads that allocate nothing, so
 * downloads leave the collector nothing to do. 64 KiB is what Node reads at once anyway.
 */
const READ_BUFFER_BYTES = 64 * 1024;

export interface UpstreamConnectionOptions {
  readonly host: string;
  readonly port: number;
  readonly connectTimeoutMs: number;
  /** Longest silence from the replica while requests are outstanding (per-try timeout). */
  readonly responseTimeoutMs: number;
  /** Idle keep-alive connections are closed after this, before the replica closes them under us. */
  readonly idleTimeoutMs: number;
  readonly maxHeadBytes: number;
}

const enum Body {
  None,
  Length,
  Chunked,
  UntilClose,
}

/**
 * One keep-alive connection to a replica. Requests are written as they come (pipelined when safe)
 * and answered in order; the parser follows each response's framing to find where the next begins.
 * When the connection breaks, every request that got no answer is handed back for another try.
 */
export class UpstreamConnection {
  readonly #socket: Socket;
  readonly #options: UpstreamConnectionOptions;
  readonly #queue: Exchange[] = [];
  readonly #onIdle: (connection: UpstreamConnection) => void;
  readonly #onClose: (connection: UpstreamConnection) => void;
  #connected = false;
  #closed = false;
  /** The replica said it will close after the current response: send nothing more. */
  #draining = false;
  /** The replica left the ring: finish what is in flight, then close. */
  #retiring = false;
  #pending: Buffer | null = null;
  #body = Body.None;
  #remaining = 0;
  #chunked: ChunkedScanner | null = null;
  #headSeen = false;
  /** The last response head's bytes and its parse (see #parseHead). */
  #lastHeadBytes: Buffer | null = null;
  #lastHead: ResponseHead | null = null;
  #corked = false;
  /** The pool has been told this connection is gone (exactly once). */
  #reported = false;
  /**
   * The request whose body is still being written. It is alone on the connection (bodies are never
   * pipelined), and it may outlive its response: a replica may answer before it read the body.
   */
  #writing: Exchange | null = null;
  /** An exchange still holds bytes of the read buffer (see holdReads): nothing is read meanwhile. */
  #held = false;
  /**
   * The socket's idle timeout as last set, and how long the connection has been silent in whole
   * timeouts since its last read or write. One timeout stays armed while the connection alternates
   * between busy and idle (see #onTimeout), so that a request costs no timer changes (each
   * `setTimeout` makes a timer and a bound function).
   */
  #armedMs = 0;
  #silentMs = 0;

  constructor(
    options: UpstreamConnectionOptions,
    onIdle: (connection: UpstreamConnection) => void,
    onClose: (connection: UpstreamConnection) => void,
  ) {
    this.#options = options;
    this.#onIdle = onIdle;
    this.#onClose = onClose;
    // The constructor takes `onread` (as `connect` does) since Node 18; the typings lack it.
    this.#socket = new Socket({
      onread: {
        buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
        callback: (bytes: number, buffer: Uint8Array) => {
          this.#onData(buffer as Buffer, bytes);
          return !this.#held;
        },
      },
    } as SocketConstructorOpts & { onread: OnReadOpts });
    this.#socket.setNoDelay(true);
    this.#socket.on('error', (error: NodeJS.ErrnoException) => this.#fail(error));
    this.#socket.on('close', () => this.#fail(null));
    this.#socket.on('timeout', () => this.#onTimeout());
    this.#arm(options.connectTimeoutMs);
    this.#socket.connect(options.port, options.host, () => {
      this.#connected = true;
      this.#silentMs = 0;
      this.#arm(this.#tickMs);
    });
  }

  readonly #uncork = () => {
    this.#corked = false;
    this.#socket.uncork();
  };

  /** True while requests written in this event-loop turn are held back to leave together. */
  get batching(): boolean {
    return this.#corked;
  }

  /** Requests written and not yet fully answered. */
  get depth(): number {
    return this.#queue.length;
  }

  get usable(): boolean {
    return !this.#closed && !this.#draining && !this.#retiring && this.#writing === null;
  }

  /** Takes no new requests and closes once those in flight are answered. */
  retire(): void {
    this.#retiring = true;
    if (this.#queue.length === 0 && this.#writing === null) this.close();
  }

  /** Whether another request may be written now. */
  accepts(exchange: Exchange, maxDepth: number): boolean {
    if (!this.usable) return false;
    if (this.#queue.length === 0) return true;
    return (
      exchange.pipelinable &&
      this.#queue[this.#queue.length - 1]!.pipelinable &&
      this.#queue.length < maxDepth
    );
  }

  send(exchange: Exchange): void {
    this.#silentMs = 0;
    this.#queue.push(exchange);
    // Requests sent while the event loop handles one round of I/O leave in one system call: the
    // socket is uncorked in the check phase, after every ready client socket has been read. That
    // holds for a request nothing may join, too: its write would wake the replica, which (on a
    // shared core) may then run before the rest of this turn's reads are handled.
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      setImmediate(this.#uncork);
    }
    this.#socket.write((exchange.hasBody && exchange.withBody?.()) || exchange.bytes);
    if (exchange.hasBody) this.#writing = exchange;
    exchange.attach(this);
  }

  /**
   * Writes body bytes of the request being sent; false once the socket's buffer is full. `written`
   * is called once they have left (or failed), unless the connection is closed already.
   */
  writeBody(chunk: Buffer, written?: (error?: Error | null) => void): boolean {
    if (this.#closed) return true;
    this.#silentMs = 0;
    return this.#socket.write(chunk, written);
  }

  /** Bytes written are still in the socket (not yet with the kernel): their buffers are in use. */
  get unflushed(): boolean {
    return !this.#closed && this.#socket.writableLength > 0;
  }

  /** Calls `drained` once the socket's buffer has room again (after `writeBody` returned false). */
  onceDrained(drained: () => void): void {
    this.#socket.once('drain', drained);
  }

  /** The body of `exchange` is written whole: the connection may take the next request. */
  bodyWritten(exchange: Exchange): void {
    if (this.#writing !== exchange) return;
    this.#writing = null;
    if (this.#queue.length > 0 || this.#closed) return;
    if (this.#retiring) {
      this.close();
      return;
    }
    this.#onIdle(this);
  }

  /** The client of the only request in flight went away: stop the replica's work too. */
  abort(exchange: Exchange): void {
    exchange.abandoned = true;
    if ((this.#queue.length === 1 && this.#queue[0] === exchange) || this.#writing === exchange) {
      this.#socket.destroy();
    }
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  /**
   * The bytes `onResponseData` was just given are still in use (written to a client socket that has
   * not flushed them): the connection reads nothing into its buffer until `releaseReads`.
   */
  holdReads(): void {
    if (this.#held) return;
    this.#held = true;
    this.#socket.pause();
  }

  releaseReads(): void {
    if (!this.#held) return;
    this.#held = false;
    this.#socket.resume();
  }

  close(): void {
    this.#closed = true;
    this.#socket.destroy();
  }

  /** `read[0, length)` is the connection's read buffer: nothing may keep it past the next read. */
  #onData(read: Buffer, length: number): void {
    this.#silentMs = 0;
    let buf = read;
    let end = length;
    if (this.#pending) {
      buf = Buffer.concat([this.#pending, read.subarray(0, length)]);
      end = buf.length;
      this.#pending = null;
    }
    try {
      this.#consume(buf, end, buf === read);
    } catch (error) {
      const message = error instanceof HttpParseError ? error.message : String(error);
      this.#fail(Object.assign(new Error(message), { code: 'EPROTO' }));
    }
  }

  /** `inPlace`: `buf` is the read buffer (not a copy of what was pending). */
  #consume(buf: Buffer, length: number, inPlace: boolean): void {
    let at = 0;
    // Heads are searched for in the bytes read, never in what is left of an earlier read past them.
    const read = length === buf.length ? buf : buf.subarray(0, length);
    while (at < length) {
      const exchange = this.#queue[0];
      if (!exchange) throw new HttpParseError(502, 'replica sent bytes nobody asked for');
      if (!this.#headSeen) {
        const end = read.indexOf('\r\n\r\n', at, 'latin1');
        if (end < 0) {
          if (length - at > this.#options.maxHeadBytes)
            throw new HttpParseError(502, 'replica response head too large');
          this.#pending = Buffer.from(buf.subarray(at, length));
          return;
        }
        const head = this.#parseHead(buf, at, end);
        const headLength = end + 4 - at;
        if (head.status < 200) {
          // Interim responses (100 Continue, 103 Early Hints) are not passed on.
          if (head.status === 101) throw new HttpParseError(502, 'replica switched protocols unasked');
          at = end + 4;
          continue;
        }
        this.#startBody(exchange, head);
        this.#headSeen = true;
        if (head.close) this.#draining = true;
        at = end + 4;
        if (!exchange.abandoned) {
          exchange.onResponseHead(head, headLength, this.#body !== Body.None && at < length);
        }
        if (this.#body === Body.None) {
          this.#finish();
          continue;
        }
      }
      at = this.#consumeBody(exchange, buf, at, length, inPlace);
    }
  }

  /**
   * The response head in `buf[at, end)`. A replica tends to send the same head again and again (same
   * type, length and Date within a second): a head byte-identical to the last one is that one's
   * parse, which costs a compare instead of a string and a strict parse.
   */
  #parseHead(buf: Buffer, at: number, end: number): ResponseHead {
    const last = this.#lastHeadBytes;
    if (last !== null && last.length === end - at && buf.compare(last, 0, last.length, at, end) === 0) {
      return this.#lastHead!;
    }
    const head = parseResponseHead(buf.toString('latin1', at, end));
    // A copy: `buf` may be the read buffer, overwritten by the next read.
    this.#lastHeadBytes = Buffer.from(buf.subarray(at, end));
    this.#lastHead = head;
    return head;
  }

  #startBody(exchange: Exchange, head: ResponseHead): void {
    const bodyless = exchange.isHead || head.status === 204 || head.status === 304;
    if (bodyless) this.#body = Body.None;
    else if (head.chunked) {
      this.#body = Body.Chunked;
      this.#chunked = new ChunkedScanner(502);
    } else if (head.contentLength >= 0) {
      this.#body = head.contentLength === 0 ? Body.None : Body.Length;
      this.#remaining = head.contentLength;
    } else {
      this.#body = Body.UntilClose;
      this.#draining = true;
    }
  }

  /** Passes body bytes on; returns where the next response starts. */
  #consumeBody(exchange: Exchange, buf: Buffer, at: number, length: number, inPlace: boolean): number {
    let end: number;
    let done = false;
    if (this.#body === Body.Length) {
      end = Math.min(length, at + this.#remaining);
      this.#remaining -= end - at;
      done = this.#remaining === 0;
    } else if (this.#body === Body.Chunked) {
      const stop = this.#chunked!.scan(buf, at, length);
      done = stop >= 0;
      end = done ? stop : length;
    } else {
      end = length;
    }
    if (!exchange.abandoned && end > at) {
      if (exchange.borrowsReads || !inPlace) exchange.onResponseData(buf, at, end);
      else {
        // An exchange that keeps response bytes past the call gets its own copy.
        bodyBytesRead(end - at);
        exchange.onResponseData(Buffer.from(buf.subarray(at, end)), 0, end - at);
      }
    }
    if (done) this.#finish();
    return end;
  }

  #finish(): void {
    const exchange = this.#queue.shift()!;
    this.#headSeen = false;
    this.#body = Body.None;
    this.#chunked = null;
    if (!exchange.abandoned) exchange.onResponseEnd();
    if (this.#draining || (this.#retiring && this.#queue.length === 0 && this.#writing === null)) {
      this.close();
      return;
    }
    if (this.#queue.length === 0 && this.#writing === null) this.#onIdle(this);
  }

  get #tickMs(): number {
    return Math.min(this.#options.responseTimeoutMs, this.#options.idleTimeoutMs);
  }

  #arm(ms: number): void {
    this.#armedMs = ms;
    this.#socket.setTimeout(ms);
  }

  /**
   * The socket was silent (no read, no write) for the armed timeout. Busy, the replica has that long
   * to answer (`responseTimeoutMs`); idle, the connection is kept `idleTimeoutMs`. Until the one that
   * applies has passed, the timeout is armed again for the rest of it.
   */
  #onTimeout(): void {
    if (!this.#connected) {
      this.#fail(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT_CONNECT' }));
      return;
    }
    this.#silentMs += this.#armedMs;
    const busy = this.#queue.length > 0 || this.#writing !== null;
    const allowed = busy ? this.#options.responseTimeoutMs : this.#options.idleTimeoutMs;
    if (this.#silentMs < allowed) {
      // Never longer than the shorter timeout: the connection may change between busy and idle.
      this.#arm(Math.min(allowed - this.#silentMs, this.#tickMs));
    } else if (busy) {
      this.#fail(Object.assign(new Error('replica did not answer in time'), { code: 'ETIMEDOUT' }));
    } else {
      this.close();
    }
  }

  #fail(error: NodeJS.ErrnoException | null): void {
    if (this.#reported) return;
    this.#reported = true;
    this.#closed = true;
    this.#socket.destroy();
    const queue = this.#queue.splice(0);
    if (this.#body === Body.UntilClose && this.#headSeen && error === null) {
      // A close-delimited body ends when the replica closes.
      const exchange = queue.shift()!;
      if (!exchange.abandoned) exchange.onResponseEnd();
    }
    const code = error?.code ?? '';
    const kind = !this.#connected
      ? 'connect'
      : code === 'ETIMEDOUT'
        ? 'timeout'
        : code === 'EPROTO'
          ? 'protocol'
          : error
            ? 'reset'
            : 'closed';
    queue.forEach((exchange, index) => {
      const responded = index === 0 && this.#headSeen;
      const message = error?.message ?? 'replica closed the connection';
      exchange.onFailure(new UpstreamError(kind, message, this.#connected, responded));
    });
    // A body still being written after its response was passed on: its request is answered, but the
    // rest of the body has nowhere to go.
    const writing = this.#writing;
    this.#writing = null;
    if (writing && !queue.includes(writing) && !writing.abandoned) writing.onBodyCut();
    this.#onClose(this);
  }
}
