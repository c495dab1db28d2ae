import { constants, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { PassThrough } from 'node:stream';
import type { OutlierDetector } from '../health/outlier-detector.js';
import type { RoutingTable } from '../membership/routing-table.js';
import type { AccessLog } from '../ops/access-log.js';
import type { Telemetry } from '../ops/telemetry.js';
import { ChunkedScanner } from '../proxy/http1/chunked-scanner.js';
import type { ResponseHead } from '../proxy/http1/response-head.js';
import { UpstreamError, type Exchange } from '../proxy/fast/exchange.js';
import type { UpstreamConnection } from '../proxy/fast/upstream-connection.js';
import type { UpstreamPool } from '../proxy/fast/upstream-pool.js';
import { HOP_BY_HOP_FIELDS } from '../proxy/headers.js';
import type { RequestView } from '../proxy/request-view.js';
import type { Upstreams } from '../proxy/upstreams.js';
import { failStream } from './h2-failure.js';
import { GRPC_STATUS, grpcMessage, grpcTimeoutHeader, grpcTimeoutMs } from './h2-grpc.js';
import { attemptH2Replica, type H2Attempt, type ResponseSink } from './h2-replica.js';
import { ReplayBody } from './h2-replay-body.js';
import type { H2Request } from './h2-request.js';
import type { H2Upstreams } from './h2-upstreams.js';

export interface H2CallContext {
  table(): RoutingTable;
  keyOf(view: RequestView): number;
  /** The fast HTTP/1.1 pool of a replica. */
  pool(origin: string): UpstreamPool | undefined;
  /** undici pools, for request bodies to HTTP/1.1 replicas. */
  readonly upstreams: Upstreams;
  readonly h2: H2Upstreams;
  isH2(origin: string): boolean;
  readonly retries: number;
  /** Per-try wait for a response head (not for gRPC, whose deadline is its own). */
  readonly upstreamTimeoutMs: number;
  readonly seedNotFound: boolean;
  readonly telemetry: Telemetry;
  readonly accessLog?: AccessLog | undefined;
  readonly outliers: OutlierDetector;
  /** Request body bytes kept for another attempt; past it a request with a body is not retried. */
  readonly replayLimit: number;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
const PIPELINABLE = new Set(['GET', 'HEAD']);
const HOP_BY_HOP = new Set([...HOP_BY_HOP_FIELDS, 'transfer-encoding', 'http2-settings']);

/**
 * One client stream proxied to the replica its key picks, through retries, until the response is
 * passed on. HTTP/1.1 replicas get it on the fast pools (this object is the pools' Exchange: the
 * head converted once, the response written to the stream with the client's flow control pausing
 * the upstream connection); h2c replicas get a stream on one of their few sessions.
 */
export class H2Call implements Exchange, ResponseSink {
  readonly #stream: ServerHttp2Stream;
  readonly #request: H2Request;
  readonly #ctx: H2CallContext;
  readonly #onReset: () => void;
  readonly bytes: Buffer;
  readonly isHead: boolean;
  readonly pipelinable: boolean;
  abandoned = false;
  #key = 0;
  #attempt = 0;
  #started = 0;
  #deadline = 0;
  #deadlineTimer: NodeJS.Timeout | undefined;
  #table: RoutingTable | null = null;
  #index = -1;
  #replica = '';
  #pool: UpstreamPool | null = null;
  #connection: UpstreamConnection | null = null;
  #h2: H2Attempt | null = null;
  #body: ReplayBody | null = null;
  #chunked: ChunkedScanner | null = null;
  #status = 0;
  #discard = false;
  #finished = false;
  #lastFailure = '';
  #paused = false;
  #trailers: OutgoingHttpHeaders | null = null;

  constructor(stream: ServerHttp2Stream, request: H2Request, ctx: H2CallContext, onReset: () => void) {
    this.#stream = stream;
    this.#request = request;
    this.#ctx = ctx;
    this.#onReset = onReset;
    this.isHead = request.method === 'HEAD';
    this.pipelinable = request.bodyless && PIPELINABLE.has(request.method);
    this.bytes = request.bodyless ? request.http1Head() : EMPTY;
  }

  start(): void {
    this.#started = performance.now();
    this.#key = this.#ctx.keyOf(this.#request);
    this.#stream.once('close', () => this.#clientGone());
    if (!this.#request.bodyless) this.#body = new ReplayBody(this.#stream, this.#ctx.replayLimit);
    if (this.#request.grpc) {
      const timeout = grpcTimeoutMs(this.#request.headers['grpc-timeout']);
      if (timeout !== undefined) {
        this.#deadline = this.#started + timeout;
        this.#deadlineTimer = setTimeout(() => this.#deadlineExceeded(), timeout);
      }
    }
    this.#dispatch();
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
    this.#table = table;
    this.#index = index;
    this.#replica = route.name;
    // In flight on this replica until its response is passed on: bounded-load rings read these counts.
    table.loads[index]!++;
    if (this.#ctx.isH2(route.origin)) {
      this.#toH2(route.origin);
      return;
    }
    if (!this.#request.bodyless) {
      void this.#withBody(route.origin);
      return;
    }
    const pool = this.#ctx.pool(route.origin);
    if (!pool) {
      this.onFailure(new UpstreamError('connect', 'the replica left the ring', false, false));
      return;
    }
    this.#pool = pool;
    pool.dispatch(this);
  }

  #release(): void {
    if (this.#table) this.#table.loads[this.#index]!--;
    this.#table = null;
    this.#pool = null;
    this.#connection = null;
    this.#h2 = null;
  }

  // --- h2c replicas ---

  #toH2(origin: string): void {
    let headers = this.#request.http2Headers();
    if (this.#deadline > 0) {
      // The replica is given what is left of the caller's deadline.
      headers = { ...headers, 'grpc-timeout': grpcTimeoutHeader(this.#deadline - performance.now()) };
    }
    const headTimeout = this.#request.grpc ? 0 : this.#ctx.upstreamTimeoutMs;
    const attempt = attemptH2Replica(this.#ctx.h2.acquire(origin), headers, this.#body, this, headTimeout);
    this.#h2 = attempt;
    void attempt.done.then((outcome) => {
      if (this.#h2 !== attempt) return;
      if (outcome.ok) this.onResponseEnd();
      else this.onFailure(outcome.error);
    });
  }

  // --- request bodies to HTTP/1.1 replicas: undici, until the fast pools take bodies ---

  async #withBody(origin: string): Promise<void> {
    const aborted = new AbortController();
    const onClose = () => aborted.abort();
    this.#stream.once('close', onClose);
    const body = this.#body!;
    try {
      const response = await this.#ctx.upstreams.poolFor(origin).request({
        path: this.#request.target,
        method: this.#request.method as 'POST',
        headers: this.#request.http1Headers(),
        body: bodyStream(body),
        signal: aborted.signal,
      });
      if (this.abandoned) {
        response.body.destroy();
        return;
      }
      this.#status = response.statusCode;
      this.head(response.statusCode, responseHeaders(response.headers), this.isHead);
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        if (this.abandoned) break;
        if (!this.data(chunk)) await new Promise<void>((resolve) => this.onDrain(resolve));
      }
      if (!this.abandoned) this.onResponseEnd();
    } catch (error) {
      if (this.abandoned) return;
      const code = (error as { code?: string }).code ?? '';
      const unsent = code === 'ECONNREFUSED' && body.replayable;
      this.onFailure(
        new UpstreamError(
          code === 'UND_ERR_HEADERS_TIMEOUT' ? 'timeout' : unsent ? 'connect' : 'reset',
          code || (error as Error).message,
          !unsent,
          this.#stream.headersSent,
        ),
      );
    } finally {
      this.#stream.off('close', onClose);
    }
  }

  // --- Exchange: the fast HTTP/1.1 pools ---

  attach(connection: UpstreamConnection): void {
    this.#connection = connection;
  }

  onResponseHead(head: ResponseHead): void {
    const out: OutgoingHttpHeaders = {};
    const fields = head.fields;
    for (let i = 0; i < fields.length; i += 2) {
      const name = fields[i]!.toLowerCase();
      if (HOP_BY_HOP.has(name) || head.connectionTokens.includes(name)) continue;
      const value = fields[i + 1]!;
      const seen = out[name];
      if (seen === undefined) out[name] = value;
      else if (Array.isArray(seen)) seen.push(value);
      else out[name] = [seen as string, value];
    }
    if (head.chunked) this.#chunked = new ChunkedScanner(502);
    const bodyless = this.isHead || head.status === 204 || head.status === 304 || head.contentLength === 0;
    this.head(head.status, out, bodyless);
  }

  onResponseData(buf: Buffer, start: number, end: number): void {
    if (this.#discard || this.abandoned) return;
    if (this.#chunked) {
      // The client gets the data without HTTP/1.1's chunk framing (HTTP/2 frames it).
      this.#chunked.scan(buf, start, end, (data, from, to) =>
        this.#write((data as Buffer).subarray(from, to)),
      );
      return;
    }
    this.#write(buf.subarray(start, end));
  }

  #write(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (!this.data(chunk) && this.#connection && !this.#paused) {
      const connection = this.#connection;
      this.#paused = true;
      connection.pause();
      this.onDrain(() => {
        this.#paused = false;
        connection.resume();
      });
    }
  }

  onResponseEnd(): void {
    this.#chunked = null;
    this.#release();
    if (this.#discard) {
      this.#finish(400);
      failStream(
        this.#stream,
        false,
        400,
        `'${this.#request.pathname}' endpoint does not exist in server replicas`,
      );
      return;
    }
    this.#finish(this.#status);
    this.end(this.#trailers);
  }

  onFailure(error: UpstreamError): void {
    const replica = this.#replica;
    this.#release();
    if (this.abandoned) return;
    if (error.responded) {
      if (replica) this.#ctx.outliers.failure(replica, error.message);
      this.#finish(this.#status);
      this.#broken(`replica '${replica}' failed mid-response: ${error.message}`);
      return;
    }
    this.#lastFailure = `replica '${replica}' failed: ${error.message}`;
    if (replica && error.kind !== 'closed') this.#ctx.outliers.failure(replica, error.message);
    if (this.#mayRetry(error)) {
      this.#attempt++;
      this.#ctx.telemetry.retry();
      this.#dispatch();
      return;
    }
    if (error.kind === 'timeout') this.#fail(504, `replica '${replica}' did not answer in time`);
    else if (error.sent && !IDEMPOTENT.has(this.#request.method) && !this.#request.grpc) {
      this.#fail(
        502,
        `replica '${replica}' failed (${error.message}) and a ${this.#request.method} request is not retried`,
      );
    } else this.#fail(502, this.#lastFailure);
  }

  /**
   * Another replica may be tried when the request can be sent again whole, no response byte has
   * reached the client, and the replica never saw the request, or the request may be repeated
   * (idempotent), or it is a gRPC call without a response header (gRPC's transparent retry).
   */
  #mayRetry(error: UpstreamError): boolean {
    if (this.#attempt >= this.#ctx.retries || error.responded || this.#stream.headersSent) return false;
    if (this.#body && !this.#body.replayable) return false;
    if (!error.sent) return true;
    if (this.#request.grpc) return true;
    return IDEMPOTENT.has(this.#request.method) && error.kind !== 'protocol';
  }

  // --- ResponseSink: the client's stream ---

  head(status: number, headers: OutgoingHttpHeaders, endStream: boolean): void {
    this.#status = status;
    if (this.#replica) {
      if (status >= 500) this.#ctx.outliers.failure(this.#replica, `status ${status}`);
      else this.#ctx.outliers.success(this.#replica);
    }
    if (status === 404 && this.#ctx.seedNotFound && !this.#request.grpc) {
      this.#discard = true;
      return;
    }
    const stream = this.#stream;
    if (stream.destroyed || stream.closed) return;
    headers[':status'] = status;
    stream.respond(headers, { endStream, waitForTrailers: !endStream });
    if (!endStream) stream.once('wantTrailers', () => this.#sendTrailers());
  }

  data(chunk: Buffer): boolean {
    if (this.#discard) return true;
    const stream = this.#stream;
    if (stream.destroyed || stream.writableEnded) return true;
    return stream.write(chunk);
  }

  onDrain(resume: () => void): void {
    const stream = this.#stream;
    if (stream.destroyed) return;
    stream.once('drain', resume);
  }

  end(trailers: OutgoingHttpHeaders | null): void {
    const stream = this.#stream;
    if (this.#discard || stream.destroyed || stream.writableEnded || !stream.headersSent) return;
    this.#trailers = trailers;
    stream.end();
  }

  #sendTrailers(): void {
    const stream = this.#stream;
    if (stream.destroyed) return;
    stream.sendTrailers(this.#trailers ?? {});
  }

  // --- ending ---

  /** Cuts a response off that cannot be completed: a gRPC call gets its status in trailers. */
  #broken(message: string): void {
    const stream = this.#stream;
    if (stream.destroyed || stream.closed) return;
    if (this.#request.grpc && stream.headersSent && !stream.writableEnded) {
      this.#trailers = {
        'grpc-status': String(GRPC_STATUS.UNAVAILABLE),
        'grpc-message': grpcMessage(message),
      };
      stream.end();
      return;
    }
    stream.close(constants.NGHTTP2_INTERNAL_ERROR);
  }

  #deadlineExceeded(): void {
    if (this.#finished) return;
    const attempt = this.#h2;
    if (attempt) attempt.cancel();
    else if (this.#connection) this.#connection.abort(this);
    else this.#pool?.withdraw(this);
    this.abandoned = true;
    this.#release();
    this.#finish(504);
    const stream = this.#stream;
    const message = 'deadline exceeded (grpc-timeout) before the replica answered';
    if (stream.headersSent) {
      if (stream.destroyed || stream.writableEnded) return;
      this.#trailers = {
        'grpc-status': String(GRPC_STATUS.DEADLINE_EXCEEDED),
        'grpc-message': grpcMessage(message),
      };
      stream.end();
      return;
    }
    failStream(stream, true, 504, message, GRPC_STATUS.DEADLINE_EXCEEDED);
  }

  #fail(status: number, message: string): void {
    this.#finish(status);
    failStream(this.#stream, this.#request.grpc, status, message);
  }

  /** Reports the finished request to telemetry and the access log, exactly once. */
  #finish(status: number): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#deadlineTimer) clearTimeout(this.#deadlineTimer);
    this.#body?.discard();
    const seconds = (performance.now() - this.#started) / 1000;
    this.#ctx.telemetry.requestDone(this.#replica, status, seconds);
    this.#ctx.accessLog?.(
      this.#request.method,
      this.#request.target,
      this.#request.remoteAddress,
      this.#replica,
      status,
      seconds,
    );
  }

  /** The client's stream closed: if the response was not done, the client reset it. */
  #clientGone(): void {
    if (this.#finished || this.abandoned) return;
    this.abandoned = true;
    this.#onReset();
    const attempt = this.#h2;
    if (attempt) attempt.cancel();
    else if (this.#connection) this.#connection.abort(this);
    else this.#pool?.withdraw(this);
    this.#release();
    this.#finish(499);
  }
}

const EMPTY = Buffer.alloc(0);

function responseHeaders(headers: Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) if (!HOP_BY_HOP.has(name)) out[name] = headers[name];
  return out;
}

/** The body as undici reads it: a PassThrough that the replay body writes to. */
function bodyStream(body: ReplayBody): PassThrough {
  const through = new PassThrough();
  body.attach(through);
  return through;
}
