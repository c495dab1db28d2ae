import type { OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import {
  bodyTooLarge,
  failure,
  grpcFailureTrailers,
  httpStatusOfGrpc,
  respondGrpcFailure,
  resetH2Stream,
  respondH2Failure,
  type Failure,
} from '../core/failure.js';
import { PROTOCOL_INDEX } from '../core/protocol.js';
import { ChunkedScanner } from '../proxy/http1/chunked-scanner.js';
import type { ResponseHead } from '../proxy/http1/response-head.js';
import type { Exchange, UpstreamError } from '../proxy/fast/exchange.js';
import type { UpstreamConnection } from '../proxy/fast/upstream-connection.js';
import type { UpstreamPool } from '../proxy/fast/upstream-pool.js';
import { HOP_BY_HOP_FIELDS } from '../proxy/headers.js';
import { withHintFields } from '../proxy/key-hints.js';
import type { FailureKind } from '../proxy/retry-policy.js';
import type { RoutedRequest, Router } from '../proxy/router.js';
import { grpcTimeoutHeader, grpcTimeoutMs } from './h2-grpc.js';
import { attemptH2Replica, type H2Attempt, type ResponseSink } from './h2-replica.js';
import { UPSTREAM_FAILURE_KINDS } from '../proxy/upstream-errors.js';
import { ReplayBody, type BodyTarget } from './h2-replay-body.js';
import type { H2Request } from './h2-request.js';
import type { H2Upstreams } from './h2-upstreams.js';

export interface H2CallContext {
  readonly router: Router;
  /** The fast HTTP/1.1 pool of a replica. */
  pool(origin: string): UpstreamPool | undefined;
  readonly h2: H2Upstreams;
  isH2(origin: string): boolean;
  /** Per-try wait for a response head (not for gRPC, whose deadline is its own). */
  readonly upstreamTimeoutMs: number;
}

const PIPELINABLE = new Set(['GET', 'HEAD']);
const NO_HEAD = Buffer.alloc(0);
const HOP_BY_HOP = new Set([...HOP_BY_HOP_FIELDS, 'transfer-encoding', 'http2-settings']);
/** Fields a trailer section must not carry (RFC 9110 §6.5.1), besides the hop-by-hop ones. */
const NOT_IN_TRAILERS = new Set([...HOP_BY_HOP, 'content-length', 'content-type', 'host', 'te']);
/** The trailer section of a replica's chunked response, at most (as its head: `--max-header-size`'s default). */
const MAX_TRAILER_BYTES = 16 * 1024;

/**
 * An HTTP/1.1 trailer section as HTTP/2 trailers: names lowercased, fields that framing or routing
 * own dropped, repeated fields kept as lists.
 */
export function trailerFields(lines: readonly string[]): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (name === '' || NOT_IN_TRAILERS.has(name)) continue;
    addField(out, name, line.slice(colon + 1).trim());
  }
  return out;
}

/** A field into HTTP/2 headers: a repeated name becomes a list. */
function addField(out: OutgoingHttpHeaders, name: string, value: string): void {
  const seen = out[name];
  if (seen === undefined) out[name] = value;
  else if (Array.isArray(seen)) seen.push(value);
  else out[name] = [String(seen), value];
}

/**
 * One client stream proxied to the replica the router picks, through the router's retries, until
 * the response is passed on. HTTP/1.1 replicas get it on the fast pools (this object is the pools'
 * Exchange: the head converted once, the response written to the stream, the client's flow control
 * pausing the upstream connection); h2c replicas get a stream on one of their few sessions. A gRPC
 * call's `grpc-timeout` is its deadline, and the replica is given what is left of it.
 */
export class H2Call implements Exchange, ResponseSink {
  readonly #stream: ServerHttp2Stream;
  readonly #request: H2Request;
  readonly #ctx: H2CallContext;
  readonly #onReset: () => void;
  /** The HTTP/1.1 head sent to the current try's replica, its hand-off hints included. */
  bytes: Buffer;
  /** The current try's hand-off hints (`RoutedRequest.hintHeaders`). */
  #hints: Record<string, string> | undefined;
  readonly hasBody: boolean;
  readonly isHead: boolean;
  readonly pipelinable: boolean;
  abandoned = false;
  #routed!: RoutedRequest;
  #deadline = 0;
  #deadlineTimer: NodeJS.Timeout | undefined;
  #pool: UpstreamPool | null = null;
  #connection: UpstreamConnection | null = null;
  #h2: H2Attempt | null = null;
  #body: ReplayBody | null = null;
  #chunked: ChunkedScanner | null = null;
  #status = 0;
  /** The router replaced the replica's answer (the seed's 404 rule): its body is dropped. */
  #replaced: Failure | undefined;
  #finished = false;
  #paused = false;
  #trailers: OutgoingHttpHeaders | null = null;
  /** Body bytes still due from an HTTP/1.1 replica with a Content-Length (-1: not known). */
  #remaining = -1;
  /** The last chunk of such a body, sent with the end of the stream (one write, not two). */
  #last: Buffer | null = null;
  /** The response went out with room for trailers (so a gRPC status can still be given). */
  #trailersAllowed = false;
  /** A gRPC call's health report waits for its status in the trailers. */
  #healthDue = false;

  readonly #maxBodySize: number;

  /** `maxBodySize`: `--max-body-size` (0: no limit), for bodies whose length was not declared. */
  constructor(
    stream: ServerHttp2Stream,
    request: H2Request,
    ctx: H2CallContext,
    onReset: () => void,
    maxBodySize = 0,
  ) {
    this.#maxBodySize = maxBodySize;
    this.#stream = stream;
    this.#request = request;
    this.#ctx = ctx;
    this.#onReset = onReset;
    this.isHead = request.method === 'HEAD';
    this.pipelinable = request.bodyless && PIPELINABLE.has(request.method);
    this.hasBody = !request.bodyless;
    // Built when a try goes to an HTTP/1.1 replica (#dispatch): an h2c replica never needs it.
    this.bytes = NO_HEAD;
  }

  start(): void {
    const request = this.#request;
    this.#routed = this.#ctx.router.begin(request, {
      protocol: request.grpc ? PROTOCOL_INDEX.grpc : PROTOCOL_INDEX.h2,
      grpc: request.grpc,
      bodyReplayable: true,
    });
    this.#stream.once('close', () => this.#clientGone());
    if (!request.bodyless) {
      this.#body = new ReplayBody(this.#stream, this.#maxBodySize, () => this.#bodyTooLarge());
      // The balancer takes the body whatever replica it goes to, so it says so itself (RFC 9110 §10.1.1).
      if (request.headers.expect?.toLowerCase() === '100-continue')
        this.#stream.additionalHeaders({ ':status': 100 });
    }
    if (request.grpc) {
      const timeout = grpcTimeoutMs(request.headers['grpc-timeout']);
      if (timeout !== undefined) {
        this.#deadline = this.#routed.started + timeout;
        this.#deadlineTimer = setTimeout(() => this.#deadlineExceeded(), timeout);
      }
    }
    this.#dispatch();
  }

  #dispatch(): void {
    const routed = this.#routed;
    const route = routed.pick();
    if (route === undefined) {
      this.#fail(routed.noReplica());
      return;
    }
    this.#hints = routed.hintHeaders();
    if (this.#ctx.isH2(route.origin)) {
      this.#toH2(route.origin);
      return;
    }
    const pool = this.#ctx.pool(route.origin);
    if (!pool) {
      this.#retryOrFail('gone', 'the replica left the ring');
      return;
    }
    const head = this.#request.http1Head();
    this.bytes = this.#hints === undefined ? head : withHintFields(head, this.#hints);
    this.#pool = pool;
    pool.dispatch(this);
  }

  #release(): void {
    this.#pool = null;
    this.#connection = null;
    this.#h2 = null;
  }

  // --- h2c replicas ---

  #toH2(origin: string): void {
    let headers = this.#request.http2Headers();
    if (this.#hints !== undefined) headers = { ...headers, ...this.#hints };
    if (this.#deadline > 0) {
      headers = { ...headers, 'grpc-timeout': grpcTimeoutHeader(this.#deadline - performance.now()) };
    }
    const headTimeout = this.#request.grpc ? 0 : this.#ctx.upstreamTimeoutMs;
    const attempt = attemptH2Replica(this.#ctx.h2.acquire(origin), headers, this.#body, this, headTimeout);
    this.#h2 = attempt;
    void attempt.done.then((outcome) => {
      if (this.#h2 !== attempt || this.abandoned) return;
      if (outcome.ok) this.onResponseEnd();
      else this.onFailure(outcome.error);
    });
  }

  // --- Exchange: the fast HTTP/1.1 pools ---

  attach(connection: UpstreamConnection): void {
    this.#connection = connection;
    // The body follows its head on the same connection, which takes nothing else until it is written.
    if (this.#body) this.#body.attach(connectionTarget(connection, this, this.#request.chunkedUpstream));
  }

  /** The replica answered before it read the whole body: the rest is dropped. */
  onBodyCut(): void {
    this.#body?.discard();
  }

  onResponseHead(head: ResponseHead): void {
    const out: OutgoingHttpHeaders = {};
    const fields = head.fields;
    for (let i = 0; i < fields.length; i += 2) {
      const name = fields[i]!.toLowerCase();
      if (HOP_BY_HOP.has(name) || head.connectionTokens.includes(name)) continue;
      addField(out, name, fields[i + 1]!);
    }
    const bodyless = this.isHead || head.status === 204 || head.status === 304 || head.contentLength === 0;
    // A chunked body may end with trailers: they are kept, and the stream ends with them (HEADERS).
    if (head.chunked && !bodyless) this.#chunked = new ChunkedScanner(502, MAX_TRAILER_BYTES, true);
    this.#remaining = head.chunked || bodyless ? -1 : head.contentLength;
    this.#respond(head.status, out, bodyless, this.#chunked !== null);
  }

  onResponseData(buf: Buffer, start: number, end: number): void {
    if (this.#replaced !== undefined || this.abandoned) return;
    if (this.#chunked) {
      // The client gets the data without HTTP/1.1's chunk framing (HTTP/2 frames it).
      this.#chunked.scan(buf, start, end, (data, from, to) =>
        this.#write((data as Buffer).subarray(from, to)),
      );
      return;
    }
    if (this.#remaining > 0) {
      this.#remaining -= end - start;
      if (this.#remaining === 0) {
        this.#last = buf.subarray(start, end);
        return;
      }
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
    const lines = this.#chunked?.trailerLines;
    if (lines && lines.length > 0) this.#trailers = trailerFields(lines);
    this.#chunked = null;
    this.#release();
    if (this.#replaced !== undefined) {
      this.#fail(this.#replaced);
      return;
    }
    this.#finish(this.#status);
    this.end(this.#trailers);
  }

  onFailure(error: UpstreamError): void {
    this.#release();
    this.#body?.detach();
    if (this.abandoned) return;
    if (error.responded || this.#stream.headersSent)
      this.#broken(UPSTREAM_FAILURE_KINDS[error.kind], error.message);
    else this.#retryOrFail(UPSTREAM_FAILURE_KINDS[error.kind], error.message);
  }

  #retryOrFail(kind: FailureKind, message: string): void {
    const routed = this.#routed;
    // A body that outgrew the replay buffer cannot be sent to another replica.
    if (this.#body && !this.#body.replayable) routed.bodyReplayable = false;
    if (routed.failed(kind, false, message)) this.#dispatch();
    else this.#fail(routed.gaveUp());
  }

  // --- ResponseSink: the client's stream ---

  head(status: number, headers: OutgoingHttpHeaders, endStream: boolean): void {
    this.#respond(status, headers, endStream, true);
  }

  #respond(status: number, headers: OutgoingHttpHeaders, endStream: boolean, trailers: boolean): void {
    this.#status = status;
    this.#replaced = this.#routed.answered(status, this.#headHealth(status, headers, endStream));
    if (this.#replaced !== undefined) return;
    const stream = this.#stream;
    if (stream.destroyed || stream.closed) return;
    headers[':status'] = status;
    const waitForTrailers = trailers && !endStream;
    this.#trailersAllowed = waitForTrailers;
    stream.respond(headers, { endStream, waitForTrailers });
    if (waitForTrailers) stream.once('wantTrailers', () => this.#sendTrailers());
  }

  /**
   * What the response head says of the replica's health. A gRPC call's own status counts (as the
   * HTTP status it stands for): in a Trailers-Only head it is there; otherwise it comes with the
   * trailers (null: `end` reports it).
   */
  #headHealth(status: number, headers: OutgoingHttpHeaders, endStream: boolean): number | null {
    if (!this.#request.grpc || status !== 200) return status;
    const grpcStatus = headers['grpc-status'];
    if (grpcStatus !== undefined) return httpStatusOfGrpc(Number(grpcStatus));
    if (endStream) return status;
    this.#healthDue = true;
    return null;
  }

  data(chunk: Buffer): boolean {
    if (this.#replaced !== undefined) return true;
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
    if (this.#healthDue) {
      this.#healthDue = false;
      const grpcStatus = trailers?.['grpc-status'];
      this.#routed.health(grpcStatus === undefined ? 200 : httpStatusOfGrpc(Number(grpcStatus)));
    }
    const stream = this.#stream;
    if (this.#replaced !== undefined || stream.destroyed || stream.writableEnded || !stream.headersSent)
      return;
    this.#trailers = trailers;
    const last = this.#last;
    this.#last = null;
    if (last) stream.end(last);
    else stream.end();
  }

  #sendTrailers(): void {
    const stream = this.#stream;
    if (stream.destroyed) return;
    stream.sendTrailers(this.#trailers ?? {});
  }

  // --- ending ---

  /**
   * A response under way that cannot be completed: a gRPC call gets its status in trailers (its
   * headers went out with room for them), anything else is reset.
   */
  #broken(kind: FailureKind, message: string): void {
    const routed = this.#routed;
    routed.failed(kind, true, message);
    this.#finish(this.#status);
    this.#cut(failure(502, `replica '${routed.route?.name ?? ''}' failed mid-response: ${message}`));
  }

  #cut(f: Failure): void {
    const stream = this.#stream;
    if (stream.destroyed || stream.closed) return;
    if (this.#request.grpc && this.#trailersAllowed && !stream.writableEnded) {
      this.#trailers = grpcFailureTrailers(f);
      stream.end();
      return;
    }
    resetH2Stream(stream, f.message);
  }

  #deadlineExceeded(): void {
    if (this.#finished) return;
    this.#abandon();
    const f = failure(504, 'the call passed its deadline (grpc-timeout) before the replica answered');
    if (this.#stream.headersSent) {
      this.#finish(504);
      this.#cut(f);
    } else this.#fail(f);
  }

  /** The body passed `--max-body-size` while it streamed: 413, or a cut if the answer is under way. */
  #bodyTooLarge(): void {
    if (this.#finished) return;
    this.#abandon();
    const f = bodyTooLarge(this.#maxBodySize);
    if (this.#stream.headersSent) {
      this.#finish(f.status);
      this.#cut(f);
    } else this.#fail(f);
  }

  #fail(f: Failure): void {
    this.#finish(f.status);
    if (this.#request.grpc) respondGrpcFailure(this.#stream, f);
    else respondH2Failure(this.#stream, f);
  }

  /** The request is over: counted once, and whatever of its body is still coming is dropped. */
  #finish(status: number): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#deadlineTimer) clearTimeout(this.#deadlineTimer);
    this.#body?.discard();
    this.#routed.finish(status);
  }

  /** Stops the current try: its replica's answer, if any comes, is dropped. */
  #abandon(): void {
    this.abandoned = true;
    const attempt = this.#h2;
    if (attempt) attempt.cancel();
    else if (this.#connection) this.#connection.abort(this);
    else this.#pool?.withdraw(this);
    this.#release();
  }

  /** The client's stream closed: if the response was not done, the client reset it. */
  #clientGone(): void {
    if (this.#finished || this.abandoned) return;
    this.#onReset();
    this.#abandon();
    this.#finish(499);
  }
}

const CRLF = Buffer.from('\r\n', 'latin1');
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

/**
 * A fast-pool connection as the target of a request body: written as it comes (in chunked framing
 * when the client gave no Content-Length: HTTP/2 frames bodies itself), then the connection is told
 * the body is whole.
 */
function connectionTarget(connection: UpstreamConnection, exchange: Exchange, chunked: boolean): BodyTarget {
  return {
    write(chunk) {
      if (!chunked) return connection.writeBody(chunk);
      if (chunk.length === 0) return true;
      connection.writeBody(Buffer.from(`${chunk.length.toString(16)}\r\n`, 'latin1'));
      connection.writeBody(chunk);
      return connection.writeBody(CRLF);
    },
    onceDrained: (drained) => connection.onceDrained(drained),
    end() {
      if (chunked) connection.writeBody(LAST_CHUNK);
      connection.bodyWritten(exchange);
    },
  };
}
