import type { Socket } from 'node:net';
import { seedMessage } from '../../core/errors.js';
import type { RoutingTable } from '../../membership/cluster.js';
import type { OutlierDetector } from '../../health/outlier-detector.js';
import type { AccessLog } from '../../ops/access-log.js';
import type { Telemetry } from '../../ops/telemetry.js';
import { hasBareLineBreak, judgedEnd } from '../http1/header-lines.js';
import { HttpParseError } from '../http1/parse-error.js';
import { headerValue, parseRequestHead, type RequestHead } from '../http1/request-head.js';
import type { ResponseHead } from '../http1/response-head.js';
import { HOP_BY_HOP_FIELDS } from '../headers.js';
import type { RequestView } from '../request-view.js';
import type { UpstreamConnection } from './upstream-connection.js';
import { UpstreamError, type Exchange } from './exchange.js';
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
  table(): RoutingTable;
  pool(origin: string): UpstreamPool | undefined;
  keyOf(view: RequestView): number;
  /** Paths the balancer answers itself (control API, metrics, ...). */
  isLocalPath(pathname: string): boolean;
  /** Gives the connection, with the bytes not yet handled, to the general-purpose HTTP server. */
  handOver(socket: Socket, pending: Buffer | null): void;
  readonly retries: number;
  readonly seedNotFound: boolean;
  readonly telemetry: Telemetry;
  readonly accessLog?: AccessLog | undefined;
  readonly outliers: OutlierDetector;
  /** Client connections that are waiting for a request head, checked for their deadline. */
  readonly waiting: Set<FrontConnection>;
  /** Whether the client's own X-Forwarded-For is kept (appended to) or replaced. */
  readonly trustForwarded: boolean;
  readonly limits: FrontLimits;
}

/**
 * Hop-by-hop headers. Transfer-Encoding stays: the fast path passes chunked framing on byte for byte
 * (validated by the chunked scanner), so the header still describes the bytes the client receives.
 */
const HOP_BY_HOP = new Set(HOP_BY_HOP_FIELDS);
const REPLACED_REQUEST_HEADERS = new Set(['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto']);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
const PIPELINABLE = new Set(['GET', 'HEAD']);

function isHopByHop(lowerName: string, connectionTokens: readonly string[]): boolean {
  return HOP_BY_HOP.has(lowerName) || (connectionTokens.length > 0 && connectionTokens.includes(lowerName));
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
    this.#current = new ProxiedRequest(this, this.#ctx, head, pathname);
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
    this.#headArrived();
    const status = error instanceof HttpParseError ? error.status : 400;
    const message = error instanceof Error ? error.message : 'bad request';
    this.#buffer = null;
    this.#closed = true;
    this.#socket.off('data', this.#onData);
    this.writeError(status, message, false);
  }

  /** The seed's JSON failure body; `keepAlive` false closes the connection after it. */
  writeError(status: number, message: string, keepAlive: boolean): void {
    const body = JSON.stringify({ message: seedMessage(message), status: 'failure' });
    const head =
      `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\n` +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      (keepAlive ? '' : 'connection: close\r\n') +
      '\r\n';
    if (this.#socket.writable) this.#socket.write(head + body);
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

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  408: 'Request Timeout',
  417: 'Expectation Failed',
  431: 'Request Header Fields Too Large',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};

/** A request proxied on the fast path, through retries, until its response has been passed on. */
class ProxiedRequest implements Exchange, RequestView {
  readonly #front: FrontConnection;
  readonly #ctx: FrontContext;
  readonly #head: RequestHead;
  readonly #pathname: string;
  readonly bytes: Buffer;
  readonly isHead: boolean;
  readonly pipelinable: boolean;
  abandoned = false;
  #key = 0;
  #attempt = 0;
  #table: RoutingTable | null = null;
  #index = -1;
  #pool: UpstreamPool | null = null;
  #connection: UpstreamConnection | null = null;
  #status = 0;
  #discard = false;
  #keepAlive: boolean;
  #started = 0;
  #lastFailure = '';

  constructor(front: FrontConnection, ctx: FrontContext, head: RequestHead, pathname: string) {
    this.#front = front;
    this.#ctx = ctx;
    this.#head = head;
    this.#pathname = pathname;
    this.isHead = head.method === 'HEAD';
    this.pipelinable = PIPELINABLE.has(head.method);
    this.#keepAlive = head.keepAlive;
    this.bytes = Buffer.from(this.#upstreamHead(), 'latin1');
  }

  // RequestView, for hash-key extraction.
  get method(): string {
    return this.#head.method;
  }
  get target(): string {
    return this.#head.target;
  }
  get remoteAddress(): string | undefined {
    return this.#front.remoteAddress;
  }
  header(name: string): string | undefined {
    return headerValue(this.#head.fields, name);
  }

  start(): void {
    this.#started = performance.now();
    this.#key = this.#ctx.keyOf(this);
    this.#dispatch();
  }

  #upstreamHead(): string {
    const head = this.#head;
    let out = `${head.method} ${head.target} HTTP/1.1\r\n`;
    let forwardedFor: string | undefined;
    let host: string | undefined;
    const fields = head.fields;
    for (let i = 0; i < fields.length; i += 2) {
      const name = fields[i]!;
      const lower = name.toLowerCase();
      if (isHopByHop(lower, head.connectionTokens)) continue;
      if (REPLACED_REQUEST_HEADERS.has(lower)) {
        // An untrusted client's own X-Forwarded-* is dropped; ours replaces it.
        if (lower === 'x-forwarded-for' && this.#ctx.trustForwarded) {
          forwardedFor = forwardedFor ? `${forwardedFor}, ${fields[i + 1]}` : fields[i + 1];
        }
        continue;
      }
      if (lower === 'host') host = fields[i + 1];
      out += `${name}: ${fields[i + 1]}\r\n`;
    }
    const client = this.#front.remoteAddress ?? '';
    out += `x-forwarded-for: ${forwardedFor ? `${forwardedFor}, ${client}` : client}\r\n`;
    if (host !== undefined) out += `x-forwarded-host: ${host}\r\n`;
    return `${out}x-forwarded-proto: ${this.#front.encrypted ? 'https' : 'http'}\r\n\r\n`;
  }

  #dispatch(): void {
    const table = this.#ctx.table();
    const index = table.ring.pick(this.#key, this.#attempt);
    if (index < 0) {
      if (this.#attempt === 0) this.#fail(503, 'no healthy replica is available');
      else this.#fail(502, `no other replica to try; last failure: ${this.#lastFailure}`);
      return;
    }
    const route = table.routes[index]!;
    const pool = this.#ctx.pool(route.origin);
    if (!pool) {
      this.onFailure(new UpstreamError('connect', 'replica left the ring', false, false));
      return;
    }
    this.#table = table;
    this.#index = index;
    table.loads[index]!++;
    this.#pool = pool;
    pool.dispatch(this);
  }

  attach(connection: UpstreamConnection): void {
    this.#connection = connection;
  }

  #release(): void {
    if (this.#table) this.#table.loads[this.#index]!--;
    this.#table = null;
    this.#connection = null;
    this.#pool = null;
  }

  onResponseHead(head: ResponseHead): void {
    this.#status = head.status;
    const replica = this.#table!.routes[this.#index]!.name;
    if (head.status >= 500) this.#ctx.outliers.failure(replica, `status ${head.status}`);
    else this.#ctx.outliers.success(replica);
    if (head.status === 404 && this.#ctx.seedNotFound) {
      this.#discard = true;
      return;
    }
    const socket = this.#front.socket;
    const untilClose =
      !head.chunked && head.contentLength < 0 && !this.isHead && head.status !== 204 && head.status !== 304;
    if (untilClose) this.#keepAlive = false;
    let out = `HTTP/1.1 ${head.status} ${head.reason}\r\n`;
    const fields = head.fields;
    for (let i = 0; i < fields.length; i += 2) {
      const lower = fields[i]!.toLowerCase();
      if (isHopByHop(lower, head.connectionTokens)) continue;
      out += `${fields[i]}: ${fields[i + 1]}\r\n`;
    }
    if (!this.#keepAlive) out += 'connection: close\r\n';
    socket.cork();
    socket.write(`${out}\r\n`, 'latin1');
    process.nextTick(uncork, socket);
  }

  onResponseData(buf: Buffer, start: number, end: number): void {
    if (this.#discard) return;
    const socket = this.#front.socket;
    if (!socket.write(buf.subarray(start, end)) && this.#connection) {
      const connection = this.#connection;
      connection.pause();
      socket.once('drain', () => connection.resume());
    }
  }

  onResponseEnd(): void {
    const replica = this.#table ? this.#table.routes[this.#index]!.name : '';
    this.#release();
    if (this.#discard) {
      this.#done(replica, 400, (performance.now() - this.#started) / 1000);
      this.#front.writeError(
        400,
        `'${this.#pathname}' endpoint does not exist in server replicas`,
        this.#keepAlive,
      );
      this.#front.finished(this.#keepAlive);
      return;
    }
    this.#done(replica, this.#status, (performance.now() - this.#started) / 1000);
    this.#front.finished(this.#keepAlive);
  }

  onFailure(error: UpstreamError): void {
    const replica = this.#table ? this.#table.routes[this.#index]!.name : '';
    this.#release();
    if (this.abandoned) return;
    if (error.responded) {
      // Part of the response is already with the client: all we can do is cut it off.
      this.#done(replica, this.#status, (performance.now() - this.#started) / 1000);
      this.#front.socket.destroy();
      return;
    }
    this.#lastFailure = `replica '${replica}' failed: ${error.message}`;
    if (replica && error.kind !== 'closed') this.#ctx.outliers.failure(replica, error.message);
    const safe = !error.sent || (IDEMPOTENT.has(this.#head.method) && error.kind !== 'protocol');
    if (safe && this.#attempt < this.#ctx.retries) {
      this.#attempt++;
      this.#ctx.telemetry.retry();
      this.#dispatch();
      return;
    }
    if (error.kind === 'timeout') this.#fail(504, `replica '${replica}' did not answer in time`);
    else if (error.sent && !safe) {
      this.#fail(
        502,
        `replica '${replica}' failed (${error.message}) and a ${this.#head.method} request is not retried`,
      );
    } else this.#fail(502, `replica '${replica}' failed: ${error.message}`);
  }

  #fail(status: number, message: string): void {
    this.#done('', status, (performance.now() - this.#started) / 1000);
    this.#front.writeError(status, message, this.#keepAlive);
    this.#front.finished(this.#keepAlive);
  }

  /** Reports a finished request to telemetry and, when on, the access log. */
  #done(replica: string, status: number, seconds: number): void {
    this.#ctx.telemetry.requestDone(replica, status, seconds);
    this.#ctx.accessLog?.(
      this.#head.method,
      this.#head.target,
      this.#front.remoteAddress,
      replica,
      status,
      seconds,
    );
  }

  /** The client closed its connection before the response was complete. */
  clientGone(): void {
    if (this.abandoned) return;
    this.abandoned = true;
    if (this.#connection) this.#connection.abort(this);
    else this.#pool?.withdraw(this);
    const replica = this.#table ? this.#table.routes[this.#index]!.name : '';
    this.#done(replica, 499, (performance.now() - this.#started) / 1000);
    this.#release();
  }
}

function uncork(socket: Socket): void {
  socket.uncork();
}
