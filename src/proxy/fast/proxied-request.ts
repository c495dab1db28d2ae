import type { Socket } from 'node:net';
import type { Failure } from '../../core/failure.js';
import { headerValue, type RequestHead } from '../http1/request-head.js';
import type { ResponseHead } from '../http1/response-head.js';
import { HOP_BY_HOP_FIELDS } from '../headers.js';
import type { RequestView } from '../request-view.js';
import type { FailureKind } from '../retry-policy.js';
import type { RoutedRequest } from '../router.js';
import type { UpstreamConnection } from './upstream-connection.js';
import type { Exchange, UpstreamError, UpstreamFailure } from './exchange.js';
import type { FrontConnection, FrontContext } from './front-connection.js';
import type { UpstreamPool } from './upstream-pool.js';

/**
 * Hop-by-hop headers. Transfer-Encoding stays: the fast path passes chunked framing on byte for byte
 * (validated by the chunked scanner), so the header still describes the bytes the client receives.
 */
const HOP_BY_HOP = new Set(HOP_BY_HOP_FIELDS);
const REPLACED_REQUEST_HEADERS = new Set(['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto']);
const PIPELINABLE = new Set(['GET', 'HEAD']);

function isHopByHop(lowerName: string, connectionTokens: readonly string[]): boolean {
  return HOP_BY_HOP.has(lowerName) || (connectionTokens.length > 0 && connectionTokens.includes(lowerName));
}

/** A request proxied on the fast path, through retries, until its response has been passed on. */
export class ProxiedRequest implements Exchange, RequestView {
  readonly #front: FrontConnection;
  readonly #ctx: FrontContext;
  readonly #head: RequestHead;
  readonly bytes: Buffer;
  readonly isHead: boolean;
  readonly pipelinable: boolean;
  abandoned = false;
  #routed: RoutedRequest | null = null;
  #pool: UpstreamPool | null = null;
  #connection: UpstreamConnection | null = null;
  #status = 0;
  /** The client gets this instead of the replica's response (whose body is dropped). */
  #replaced: Failure | undefined;
  #keepAlive: boolean;

  constructor(front: FrontConnection, ctx: FrontContext, head: RequestHead) {
    this.#front = front;
    this.#ctx = ctx;
    this.#head = head;
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
    this.#routed = this.#ctx.router.begin(this, { protocol: 0, grpc: false, bodyReplayable: true });
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
    const routed = this.#routed!;
    const route = routed.pick();
    if (route === undefined) {
      this.#fail(routed.noReplica());
      return;
    }
    const pool = this.#ctx.pool(route.origin);
    if (!pool) {
      this.#retryOrFail('gone', false, 'the replica left the ring');
      return;
    }
    this.#pool = pool;
    pool.dispatch(this);
  }

  attach(connection: UpstreamConnection): void {
    this.#connection = connection;
  }

  #release(): void {
    this.#connection = null;
    this.#pool = null;
  }

  onResponseHead(head: ResponseHead): void {
    this.#status = head.status;
    this.#replaced = this.#routed!.answered(head.status);
    if (this.#replaced !== undefined) return;
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
    if (this.#replaced !== undefined) return;
    const socket = this.#front.socket;
    if (!socket.write(buf.subarray(start, end)) && this.#connection) {
      const connection = this.#connection;
      connection.pause();
      socket.once('drain', () => connection.resume());
    }
  }

  onResponseEnd(): void {
    this.#release();
    if (this.#replaced !== undefined) {
      this.#fail(this.#replaced);
      return;
    }
    this.#routed!.finish(this.#status);
    this.#front.finished(this.#keepAlive);
  }

  onFailure(error: UpstreamError): void {
    this.#release();
    if (this.abandoned) return;
    if (error.responded) {
      // Part of the response is already with the client: all we can do is cut it off.
      this.#routed!.failed(KINDS[error.kind], true, error.message);
      this.#routed!.finish(this.#status);
      this.#front.socket.destroy();
      return;
    }
    this.#retryOrFail(KINDS[error.kind], false, error.message);
  }

  #retryOrFail(kind: FailureKind, responded: boolean, message: string): void {
    const routed = this.#routed!;
    if (routed.failed(kind, responded, message)) this.#dispatch();
    else this.#fail(routed.gaveUp());
  }

  #fail(failure: Failure): void {
    this.#routed!.finish(failure.status);
    this.#front.writeFailure(failure, this.#keepAlive);
    this.#front.finished(this.#keepAlive);
  }

  /** The client closed its connection before the response was complete. */
  clientGone(): void {
    if (this.abandoned) return;
    this.abandoned = true;
    if (this.#connection) this.#connection.abort(this);
    else this.#pool?.withdraw(this);
    this.#routed?.finish(499);
    this.#release();
  }
}

/** How the upstream connection's failures read in the retry policy. */
const KINDS: Readonly<Record<UpstreamFailure, FailureKind>> = {
  connect: 'refused',
  gone: 'gone',
  reset: 'reset',
  closed: 'reset',
  timeout: 'timeout',
  protocol: 'protocol',
};

function uncork(socket: Socket): void {
  socket.uncork();
}
