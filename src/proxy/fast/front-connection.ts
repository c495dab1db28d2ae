import type { Socket } from 'node:net';
import { failure, rawFailure, type Failure } from '../../core/failure.js';
import { hasBareLineBreak, judgedEnd } from '../http1/header-lines.js';
import { HttpParseError } from '../http1/parse-error.js';
import { parseRequestHead, type RequestHead } from '../http1/request-head.js';
import { methodRefusal, type Router } from '../router.js';
import {
  giveReadBuffer,
  READ_STOP_BODY,
  READ_STOP_HELD,
  READ_STOP_PIPELINED,
  readIntoOwnBuffers,
  readLikeNode,
  sharedReadBuffer,
  takeReadBuffer,
  type ReadBuffer,
} from './client-reads.js';
import { ProxiedRequest, WHOLE_BODY_BYTES } from './proxied-request.js';
import type { RequestBody } from './request-body.js';
import { isWebSocketUpgrade, type FrontWebSocket } from './websocket-front.js';
import type { UpstreamPool } from './upstream-pool.js';

export interface FrontLimits {
  readonly maxHeadBytes: number;
  readonly maxHeaders: number;
  /** A client has this long to send a whole request head. */
  readonly headerTimeoutMs: number;
  /** An idle keep-alive client connection is closed after this. */
  readonly keepAliveTimeoutMs: number;
  /** Largest request body passed on (`--max-body-size`); 0 for no limit. */
  readonly maxBodySize: number;
}

/**
 * Why a request is handed to the general-purpose node:http server instead of being proxied here;
 * the connection then stays there for good.
 */
export type HandOverReason =
  /** The balancer's own endpoints (control API, metrics, dashboard) are written for node:http. */
  | 'local'
  /**
   * HTTP/1.0: a replica's chunked response must reach a 1.0 client de-chunked or close-delimited,
   * and its keep-alive rules differ; node:http does both and the fast path only relays framing.
   */
  | 'http/1.0'
  /**
   * An absolute-form target (`GET http://host/x`) is rewritten to origin form with that Host by
   * forward.ts; only clients that take the balancer for a forward proxy send one.
   */
  | 'absolute-form'
  /**
   * Protocol upgrades other than WebSocket (h2c, ...), which node:http's upgrade path answers as
   * plain HTTP/1.1; WebSocket upgrades go to the tunnels (`webSocket`) instead.
   */
  | 'upgrade';

/** Whether a parsed head is proxied on the fast path (null) or handed over, and why. */
export function handOverReason(
  head: RequestHead,
  pathname: string,
  isLocalPath: (pathname: string) => boolean,
): HandOverReason | null {
  if (head.minor !== 1) return 'http/1.0';
  if (!head.originForm) return 'absolute-form';
  if (head.upgrade) return 'upgrade';
  if (isLocalPath(pathname)) return 'local';
  return null;
}

export interface FrontContext {
  /** The one router: key, replica picks, retries, health, telemetry and the access log. */
  readonly router: Router;
  pool(origin: string): UpstreamPool | undefined;
  /** Paths the balancer answers itself (control API, metrics, ...). */
  isLocalPath(pathname: string): boolean;
  /** Gives the connection, with the bytes not yet handled, to the general-purpose HTTP server. */
  handOver(socket: Socket, pending: Buffer | null, reason: HandOverReason): void;
  /** Takes the connection of a WebSocket upgrade, with the bytes after its head (the ws helper's). */
  readonly webSocket?: FrontWebSocket;
  /**
   * The fast path's client connections, swept for an overdue request head. A connection is in it
   * from its start to its end (not only while it waits for a head), so that a request costs no set
   * changes; `overdue` tells the waiting ones.
   */
  readonly open: Set<FrontConnection>;
  /** Whether the client's own X-Forwarded-For is kept (appended to) or replaced. */
  readonly trustForwarded: boolean;
  readonly limits: FrontLimits;
}

/**
 * One client connection on the fast path: it parses request heads strictly, proxies requests to the
 * replica the ring picks (request bodies and responses streamed as they arrive, with backpressure
 * both ways), and hands the connection to the general-purpose server for what it does not serve
 * (see HandOverReason), so that every request is served and none is half-understood.
 */
export class FrontConnection {
  readonly #socket: Socket;
  readonly #ctx: FrontContext;
  #buffer: Buffer | null = null;
  #current: ProxiedRequest | null = null;
  /** The current request's body while it is still arriving. */
  #body: RequestBody | null = null;
  #closed = false;
  /** The socket reads into reused buffers (client-reads.ts), not into a fresh one per read. */
  readonly #borrowing: boolean;
  /** Where the bytes being handled now are (see ReadBuffer); `own` outside a read. */
  #reading: ReadBuffer = 'own';
  /** This connection's own read buffer while a request body streams past a read, or null. */
  #private: Buffer | null = null;
  /** The next read goes to `#private` (Node was given it after the last read). */
  #nextIsPrivate = false;
  /** Why the socket is not read (READ_STOP_* bits); it is read while none is left. */
  #stops = 0;
  /** Handed to another server, which reads the socket as Node's own (readLikeNode). */
  #handedOver = false;
  readonly #onData = (chunk: Buffer) => this.#receive(chunk);
  readonly #onRead = (bytes: number, buffer: Buffer): boolean => {
    this.#reading = buffer === this.#private ? 'private' : 'shared';
    this.#receive(bytes === buffer.length ? buffer : buffer.subarray(0, bytes));
    this.#reading = 'own';
    // What stays for later (a head still arriving, pipelined requests) is copied: the next read
    // overwrites the buffer.
    const kept = this.#buffer;
    if (kept !== null && kept.buffer === buffer.buffer) this.#buffer = Buffer.from(kept);
    return true;
  };
  /** The buffer the next read goes to: the connection's own while a body streams, the shared one otherwise. */
  readonly #nextBuffer = (): Buffer => {
    this.#nextIsPrivate = this.#body !== null && !this.#closed;
    if (this.#nextIsPrivate) return (this.#private ??= takeReadBuffer());
    this.#spareIdle();
    return sharedReadBuffer();
  };

  /** Gives the private read buffer back once no read goes to it and no write uses it. */
  #spareIdle(): void {
    if (this.#private === null || this.#nextIsPrivate || (this.#stops & READ_STOP_HELD) !== 0) return;
    giveReadBuffer(this.#private);
    this.#private = null;
  }
  readonly #onClose = () => this.#gone();
  readonly #onError = () => this.#gone();

  /** When the head being waited for started (the connection opened, or its first byte came). */
  #headSince = 0;
  /** When the connection went idle after a response (0 while a request is read or served). */
  #idleSince = 0;
  /** When the balancer ended the connection (its side closed, the client's still open), or 0. */
  #closingSince = 0;

  constructor(socket: Socket, ctx: FrontContext) {
    this.#socket = socket;
    this.#ctx = ctx;
    socket.setNoDelay(true);
    ctx.open.add(this);
    this.#headSince = performance.now();
    this.#borrowing = readIntoOwnBuffers(socket, this.#onRead, this.#nextBuffer);
    if (!this.#borrowing) socket.on('data', this.#onData);
    socket.on('close', this.#onClose);
    socket.on('error', this.#onError);
  }

  get socket(): Socket {
    return this.#socket;
  }

  /** Stops reading the client for `reason` (a READ_STOP_* bit) until `goOn(reason)`. */
  stopReading(reason: number): void {
    if (this.#stops === 0) this.#socket.pause();
    this.#stops |= reason;
  }

  /** Takes back `reason` to stop reading; reading goes on once no reason is left. */
  goOn(reason: number): void {
    if ((this.#stops & reason) === 0) return;
    this.#stops &= ~reason;
    if ((reason & READ_STOP_HELD) !== 0) this.#spareIdle();
    if (this.#stops === 0 && !this.#handedOver) this.#socket.resume();
  }

  get remoteAddress(): string | undefined {
    return this.#socket.remoteAddress;
  }

  /** Whether the client connection is TLS (a `tls.TLSSocket`). */
  get encrypted(): boolean {
    return (this.#socket as { encrypted?: boolean }).encrypted === true;
  }

  /**
   * Whether the connection has waited too long: for a request head, longer than the headers timeout
   * allows (counted from its first byte, or from the connection's start: a client dribbling a byte
   * at a time would keep resetting an idle timer); idle between requests, longer than the keep-alive
   * timeout; ended by the balancer while the client keeps its side open (a lingering close, its
   * last bytes read and dropped), longer than the keep-alive timeout. The sweeper asks, instead of a
   * timer per socket: a socket keeps its timer object and refreshes it on every read and write once
   * it has had one, and a WebSocket tunnel that was a request first would carry it for good.
   */
  overdue(now: number): boolean {
    const limits = this.#ctx.limits;
    if (this.#headSince > 0) return now - this.#headSince > limits.headerTimeoutMs;
    if (this.#closingSince > 0) return now - this.#closingSince > limits.keepAliveTimeoutMs;
    return this.#idleSince > 0 && now - this.#idleSince > limits.keepAliveTimeoutMs;
  }

  /**
   * Called by the sweeper for an overdue connection: a head begun gets a 408; a connection that
   * sent nothing, or that the client left open after the balancer ended it, is closed.
   */
  expire(): void {
    // An ended connection holds no buffer: only a head begun is answered.
    if (this.#buffer && this.#buffer.length > 0) {
      this.#refuse(new HttpParseError(408, 'the request head did not arrive in time'));
    } else {
      this.#leave();
      this.#socket.destroy();
    }
  }

  #headArrived(): void {
    this.#headSince = 0;
  }

  /** The connection leaves the fast path (closed or handed over): it is swept no more. */
  #leave(): void {
    this.#headSince = 0;
    this.#idleSince = 0;
    this.#closingSince = 0;
    this.#ctx.open.delete(this);
  }

  /** The balancer ended the connection: it is swept until the client closes its side too. */
  #ending(): void {
    this.#headSince = 0;
    this.#idleSince = 0;
    this.#closingSince = performance.now();
  }

  #receive(chunk: Buffer): void {
    if (this.#closed) return;
    if (this.#body) {
      const end = this.#feedBody(chunk, 0);
      if (end === chunk.length || this.#closed) return;
      chunk = chunk.subarray(end);
    }
    if (this.#headSince === 0 && !this.#current) {
      this.#headSince = performance.now();
      this.#idleSince = 0;
    }
    this.#buffer = this.#buffer ? Buffer.concat([this.#buffer, chunk]) : chunk;
    if (this.#current) {
      // A pipelining client: hold its next requests until this one is answered.
      if (this.#buffer.length > this.#ctx.limits.maxHeadBytes * 4) this.stopReading(READ_STOP_PIPELINED);
      return;
    }
    this.#next();
  }

  /** Starts the next complete request in the buffer, if any. */
  #next(): void {
    const buf = this.#buffer;
    if (!buf || this.#closed) return;
    let start = 0;
    // RFC 9112 §2.2: a server should ignore empty lines received before a request line.
    while (start + 1 < buf.length && buf[start] === 0x0d && buf[start + 1] === 0x0a) start += 2;
    const end = buf.indexOf('\r\n\r\n', start, 'latin1');
    if (end < 0) {
      if (buf.length - start > this.#ctx.limits.maxHeadBytes) {
        this.#refuse(new HttpParseError(431, 'request head too large'));
      } else if (hasBareLineBreak(buf.toString('latin1', start, judgedEnd(buf)))) {
        this.#refuse(new HttpParseError(400, 'line breaks must be CRLF'));
      } else if (this.#headSince === 0) {
        // The start of a pipelined head, held while the request before it was served.
        this.#headSince = performance.now();
      }
      return;
    }
    if (end - start > this.#ctx.limits.maxHeadBytes) {
      this.#refuse(new HttpParseError(431, 'request head too large'));
      return;
    }
    let head: RequestHead;
    try {
      head = parseRequestHead(buf.toString('latin1', start, end), this.#ctx.limits.maxHeaders);
    } catch (error) {
      this.#refuse(error);
      return;
    }
    this.#headArrived();
    const refusal = methodRefusal(head.method);
    if (refusal !== undefined) {
      // Its body, if any, is not read: the connection closes after the answer.
      this.#refuseWith(refusal);
      return;
    }
    const query = head.target.indexOf('?');
    const pathname = query < 0 ? head.target : head.target.slice(0, query);
    const webSocket = this.#ctx.webSocket;
    if (webSocket && head.originForm && isWebSocketUpgrade(head) && !this.#ctx.isLocalPath(pathname)) {
      // The connection is a WebSocket tunnel from here on: it leaves the front with its first frames.
      this.#handOver(end + 4, 'upgrade', (socket, pending) =>
        webSocket(socket, head, pending, (f) => this.writeFailure(f, false)),
      );
      return;
    }
    const reason = handOverReason(head, pathname, this.#ctx.isLocalPath);
    if (reason !== null) {
      this.#handOver(start, reason);
      return;
    }
    const limit = this.#ctx.limits.maxBodySize;
    if (limit > 0 && head.contentLength > limit) {
      // Refused before a byte goes upstream, and before any 100 Continue: the client need not send it.
      this.#refuse(new HttpParseError(413, `the body is larger than ${limit} bytes`));
      return;
    }
    const rest = end + 4;
    this.#buffer = null;
    const length = head.contentLength;
    const whole =
      !head.chunked && length > 0 && length <= WHOLE_BODY_BYTES && rest + length <= buf.length
        ? buf.subarray(rest, rest + length)
        : null;
    const request = new ProxiedRequest(this, this.#ctx, head, limit, whole);
    if (whole !== null) {
      this.#current = request;
      if (rest + length < buf.length) this.#buffer = buf.subarray(rest + length);
      request.start();
      return;
    }
    this.#current = request;
    this.#body = request.body;
    // Body bytes that came with the head go first, so that a small body leaves with its head.
    const next = this.#body && rest < buf.length ? this.#feedBody(buf, rest) : rest;
    if (this.#closed) return;
    if (next < buf.length) this.#buffer = buf.subarray(next);
    request.start();
  }

  /** Passes the current body its bytes from `buf[start..]`; returns where the body ended. */
  #feedBody(buf: Buffer, start: number): number {
    const body = this.#body!;
    let end: number;
    try {
      end = body.receive(buf, start, buf.length, this.#reading);
    } catch (error) {
      this.#body = null;
      const status = error instanceof HttpParseError ? error.status : 400;
      this.#current?.bodyFailed(status, error instanceof Error ? error.message : 'bad request body');
      return buf.length;
    }
    if (body.received) this.#body = null;
    return end;
  }

  /** The current exchange is over; go on with the next request or close. */
  finished(keepAlive: boolean): void {
    this.#current?.body?.dispose();
    this.#current = null;
    this.#body = null;
    if (!keepAlive || this.#closed) {
      this.#closed = true;
      this.#buffer = null;
      this.#socket.end();
      this.#ending();
      // Whatever the client still sends is read and dropped until it closes (a paused socket would
      // leave its reply stuck behind unread bytes); a read buffer still being written from is not
      // read into until that write is through.
      this.goOn(this.#stops & ~READ_STOP_HELD);
      return;
    }
    this.goOn(READ_STOP_PIPELINED | READ_STOP_BODY);
    if (this.#buffer === null) this.#idleSince = performance.now();
    else this.#next();
  }

  #handOver(start: number, reason: HandOverReason, to: FrontContext['handOver'] = this.#ctx.handOver): void {
    this.#leave();
    const socket = this.#socket;
    socket.pause();
    socket.off('data', this.#onData);
    socket.off('close', this.#onClose);
    socket.off('error', this.#onError);
    let pending = this.#buffer && start < this.#buffer.length ? this.#buffer.subarray(start) : null;
    if (pending !== null && this.#reading !== 'own') pending = Buffer.from(pending);
    this.#buffer = null;
    this.#closed = true;
    this.#handedOver = true;
    this.#stops = 0;
    if (this.#borrowing) readLikeNode(socket);
    to(socket, pending, reason);
  }

  #refuse(error: unknown): void {
    const status = error instanceof HttpParseError ? error.status : 400;
    const message = error instanceof Error ? error.message : 'bad request';
    this.#refuseWith(failure(status, message));
  }

  #refuseWith(f: Failure): void {
    this.#ending();
    this.#buffer = null;
    this.#closed = true;
    if (!this.#borrowing) this.#socket.off('data', this.#onData);
    this.writeFailure(f, false);
  }

  /** A failure of ringlb's own, in the seed's JSON shape; `keepAlive` false closes the connection. */
  writeFailure(f: Failure, keepAlive: boolean): void {
    if (this.#socket.writable) this.#socket.write(rawFailure(f, keepAlive));
    if (!keepAlive) this.#socket.end();
  }

  #gone(): void {
    this.#leave();
    // A write may still use it: it is not given back for reuse.
    this.#private = null;
    this.#closed = true;
    this.#buffer = null;
    this.#body = null;
    this.#current?.clientGone();
    this.#current = null;
  }
}
