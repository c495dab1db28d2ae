import type { Socket } from 'node:net';
import { failure, rawFailure, type Failure } from '../../core/failure.js';
import { hasBareLineBreak, judgedEnd } from '../http1/header-lines.js';
import { HttpParseError } from '../http1/parse-error.js';
import { parseRequestHead, type RequestHead } from '../http1/request-head.js';
import { methodRefusal, type Router } from '../router.js';
import { ProxiedRequest } from './proxied-request.js';
import type { UpstreamPool } from './upstream-pool.js';

export interface FrontLimits {
  readonly maxHeadBytes: number;
  readonly maxHeaders: number;
  /** A client has this long to send a whole request head. */
  readonly headerTimeoutMs: number;
  /** An idle keep-alive client connection is closed after this. */
  readonly keepAliveTimeoutMs: number;
}

export interface FrontContext {
  /** The one router: key, replica picks, retries, health, telemetry and the access log. */
  readonly router: Router;
  pool(origin: string): UpstreamPool | undefined;
  /** Paths the balancer answers itself (control API, metrics, ...). */
  isLocalPath(pathname: string): boolean;
  /** Gives the connection, with the bytes not yet handled, to the general-purpose HTTP server. */
  handOver(socket: Socket, pending: Buffer | null): void;
  /** Client connections that are waiting for a request head, checked for their deadline. */
  readonly waiting: Set<FrontConnection>;
  /** Whether the client's own X-Forwarded-For is kept (appended to) or replaced. */
  readonly trustForwarded: boolean;
  readonly limits: FrontLimits;
}

/**
 * One client connection on the fast path: it parses request heads strictly, proxies bodyless
 * requests to the replica the ring picks (responses streamed back as they arrive), and hands the
 * connection to the general-purpose server for anything else (request bodies, upgrades, HTTP/1.0,
 * the balancer's own endpoints), so that every request is served and none is half-understood.
 */
export class FrontConnection {
  readonly #socket: Socket;
  readonly #ctx: FrontContext;
  #buffer: Buffer | null = null;
  #current: ProxiedRequest | null = null;
  #closed = false;
  readonly #onData = (chunk: Buffer) => this.#receive(chunk);
  readonly #onTimeout = () => this.#timeout();
  readonly #onClose = () => this.#gone();
  readonly #onError = () => this.#gone();

  /** When the head being waited for started (the connection opened, or its first byte came). */
  #headSince = 0;

  constructor(socket: Socket, ctx: FrontContext) {
    this.#socket = socket;
    this.#ctx = ctx;
    socket.setNoDelay(true);
    socket.setTimeout(ctx.limits.headerTimeoutMs);
    this.#waitForHead(performance.now());
    socket.on('data', this.#onData);
    socket.on('timeout', this.#onTimeout);
    socket.on('close', this.#onClose);
    socket.on('error', this.#onError);
  }

  get socket(): Socket {
    return this.#socket;
  }

  get remoteAddress(): string | undefined {
    return this.#socket.remoteAddress;
  }

  /** Whether the client connection is TLS (a `tls.TLSSocket`). */
  get encrypted(): boolean {
    return (this.#socket as { encrypted?: boolean }).encrypted === true;
  }

  /**
   * Whether the head has been awaited longer than the headers timeout allows: a client dribbling a
   * byte at a time keeps resetting an idle timer, so the deadline counts from the first byte.
   */
  overdue(now: number): boolean {
    return this.#headSince > 0 && now - this.#headSince > this.#ctx.limits.headerTimeoutMs;
  }

  /** Called by the sweeper for an overdue connection. */
  expire(): void {
    this.#ctx.waiting.delete(this);
    this.#refuse(new HttpParseError(408, 'the request head did not arrive in time'));
  }

  #waitForHead(since: number): void {
    this.#headSince = since;
    this.#ctx.waiting.add(this);
  }

  #headArrived(): void {
    this.#headSince = 0;
    this.#ctx.waiting.delete(this);
  }

  #receive(chunk: Buffer): void {
    if (this.#headSince === 0 && !this.#current) this.#waitForHead(performance.now());
    this.#buffer = this.#buffer ? Buffer.concat([this.#buffer, chunk]) : chunk;
    if (this.#current) {
      // A pipelining client: hold its next requests until this one is answered.
      if (this.#buffer.length > this.#ctx.limits.maxHeadBytes * 4) this.#socket.pause();
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
      } else {
        this.#socket.setTimeout(this.#ctx.limits.headerTimeoutMs);
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
    const fast =
      head.minor === 1 &&
      head.originForm &&
      !head.upgrade &&
      !head.expectContinue &&
      !head.chunked &&
      head.contentLength <= 0 &&
      !this.#ctx.isLocalPath(pathname);
    if (!fast) {
      this.#handOver(start);
      return;
    }
    const rest = end + 4;
    this.#buffer = rest < buf.length ? buf.subarray(rest) : null;
    this.#socket.setTimeout(0);
    this.#current = new ProxiedRequest(this, this.#ctx, head);
    this.#current.start();
  }

  /** The current exchange is over; go on with the next request or close. */
  finished(keepAlive: boolean): void {
    this.#current = null;
    if (!keepAlive || this.#closed) {
      this.#socket.end();
      return;
    }
    this.#socket.setTimeout(this.#ctx.limits.keepAliveTimeoutMs);
    if (this.#socket.isPaused()) this.#socket.resume();
    this.#next();
  }

  #handOver(start: number): void {
    this.#headArrived();
    const socket = this.#socket;
    socket.pause();
    socket.off('data', this.#onData);
    socket.off('timeout', this.#onTimeout);
    socket.off('close', this.#onClose);
    socket.off('error', this.#onError);
    socket.setTimeout(0);
    const pending = this.#buffer && start < this.#buffer.length ? this.#buffer.subarray(start) : null;
    this.#buffer = null;
    this.#closed = true;
    this.#ctx.handOver(socket, pending);
  }

  #refuse(error: unknown): void {
    const status = error instanceof HttpParseError ? error.status : 400;
    const message = error instanceof Error ? error.message : 'bad request';
    this.#refuseWith(failure(status, message));
  }

  #refuseWith(f: Failure): void {
    this.#headArrived();
    this.#buffer = null;
    this.#closed = true;
    this.#socket.off('data', this.#onData);
    this.writeFailure(f, false);
  }

  /** A failure of ringlb's own, in the seed's JSON shape; `keepAlive` false closes the connection. */
  writeFailure(f: Failure, keepAlive: boolean): void {
    if (this.#socket.writable) this.#socket.write(rawFailure(f, keepAlive));
    if (!keepAlive) this.#socket.end();
  }

  #timeout(): void {
    if (this.#current) return;
    if (this.#buffer && this.#buffer.length > 0) {
      this.#refuse(new HttpParseError(408, 'the request head did not arrive in time'));
    } else {
      this.#socket.destroy();
    }
  }

  #gone(): void {
    this.#headArrived();
    this.#closed = true;
    this.#buffer = null;
    this.#current?.clientGone();
    this.#current = null;
  }
}
