import type { Socket } from 'node:net';
import type { RoutingTable } from '../../membership/routing-table.js';
import { headerValue, type RequestHead } from '../http1/request-head.js';
import type { ResponseHead } from '../http1/response-head.js';
import { HOP_BY_HOP_FIELDS } from '../headers.js';
import type { RequestView } from '../request-view.js';
import type { UpstreamConnection } from './upstream-connection.js';
import { UpstreamError, type Exchange } from './exchange.js';
import type { FrontConnection, FrontContext } from './front-connection.js';
import type { UpstreamPool } from './upstream-pool.js';

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

/** A request proxied on the fast path, through retries, until its response has been passed on. */
export class ProxiedRequest implements Exchange, RequestView {
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
