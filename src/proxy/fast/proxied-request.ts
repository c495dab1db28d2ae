import type { Socket } from 'node:net';
import { BodyFraming } from '../http1/body-framing.js';
import type { Failure } from '../../core/failure.js';
import { headerValue, type RequestHead } from '../http1/request-head.js';
import type { ResponseHead } from '../http1/response-head.js';
import { HOP_BY_HOP_FIELDS } from '../headers.js';
import { withHintFields } from '../key-hints.js';
import type { RequestView } from '../request-view.js';
import type { FailureKind } from '../retry-policy.js';
import type { RoutedRequest } from '../router.js';
import type { UpstreamConnection } from './upstream-connection.js';
import type { UpstreamError } from './exchange.js';
import { UPSTREAM_FAILURE_KINDS } from '../upstream-errors.js';
import type { FrontConnection, FrontContext } from './front-connection.js';
import type { UpstreamPool } from './upstream-pool.js';
import { RequestBody, type BodyOwner } from './request-body.js';

/**
 * Hop-by-hop headers. Transfer-Encoding stays: the fast path passes chunked framing on byte for byte
 * (validated by the chunked scanner), so the header still describes the bytes the client receives.
 */
const HOP_BY_HOP = new Set(HOP_BY_HOP_FIELDS);
/** Expect is answered by the balancer itself (see RequestBody), so it is not passed on. */
const REPLACED_REQUEST_HEADERS = new Set([
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'expect',
]);
const PIPELINABLE = new Set(['GET', 'HEAD']);

function isHopByHop(lowerName: string, connectionTokens: readonly string[]): boolean {
  return HOP_BY_HOP.has(lowerName) || (connectionTokens.length > 0 && connectionTokens.includes(lowerName));
}

/** A request proxied on the fast path, through retries, until its response has been passed on. */
export class ProxiedRequest implements BodyOwner, RequestView {
  readonly #front: FrontConnection;
  readonly #ctx: FrontContext;
  readonly #head: RequestHead;
  /** What is sent to the current try's replica: `#plain`, plus its hand-off hints if any. */
  bytes: Buffer;
  /** The upstream head, and the whole body behind it when it came with the head. */
  readonly #plain: Buffer;
  readonly #headLength: number;
  readonly isHead: boolean;
  readonly pipelinable: boolean;
  /** A body follows the head, streamed by `body` (one that came whole with the head is in `bytes`). */
  readonly hasBody: boolean;
  /** The request body on its way upstream; null without one, or when it came whole with the head. */
  readonly body: RequestBody | null;
  abandoned = false;
  readonly #routed: RoutedRequest;
  #pool: UpstreamPool | null = null;
  #connection: UpstreamConnection | null = null;
  #status = 0;
  /** The client gets this instead of the replica's response (whose body is dropped). */
  #replaced: Failure | undefined;
  #keepAlive: boolean;
  /** The response has been passed on whole (the body may still be on its way up). */
  #responseEnded = false;
  /** Response bytes (or the balancer's own answer) have reached the client. */
  #responded = false;
  /** The response head, held until the body bytes that came with it, to leave in one write. */
  #heldHead: string | null = null;
  /** The connection whose read buffer the client socket still holds bytes of (see onResponseData). */
  #holding: UpstreamConnection | null = null;
  readonly borrowsReads = true;

  /**
   * `maxBodySize` is `--max-body-size` (0 = no limit); a larger Content-Length is refused before.
   * `wholeBody`: the body, when all of it came with the head and it is small (see WHOLE_BODY_BYTES).
   */
  constructor(
    front: FrontConnection,
    ctx: FrontContext,
    head: RequestHead,
    maxBodySize: number,
    wholeBody: Buffer | null = null,
  ) {
    this.#front = front;
    this.#ctx = ctx;
    this.#head = head;
    this.#routed = ctx.router.begin(this, { protocol: 0, grpc: false, bodyReplayable: true });
    this.isHead = head.method === 'HEAD';
    this.hasBody = wholeBody === null && (head.chunked || head.contentLength > 0);
    this.body = this.hasBody
      ? new RequestBody(
          this,
          front,
          new BodyFraming(head.contentLength, head.chunked, maxBodySize),
          head.expectContinue,
        )
      : null;
    // A request with a body is never pipelined: it is not known to be safe to send twice, and one
    // stalled upload must not hold up the requests queued behind it.
    this.pipelinable = PIPELINABLE.has(head.method) && !this.hasBody && wholeBody === null;
    this.#keepAlive = head.keepAlive;
    const upstreamHead = this.#upstreamHead();
    this.#headLength = upstreamHead.length;
    if (wholeBody === null) {
      this.#plain = Buffer.from(upstreamHead, 'latin1');
    } else {
      // Head and body in one buffer, sent in one write: no body to follow, and a retry sends it again.
      this.#plain = Buffer.allocUnsafe(upstreamHead.length + wholeBody.length);
      this.#plain.write(upstreamHead, 0, 'latin1');
      wholeBody.copy(this.#plain, upstreamHead.length);
    }
    this.bytes = this.#plain;
  }

  /**
   * Whether the request can be sent again whole: it has no body, or its body still fits the
   * replay buffer (PER_REQUEST_BUFFER_LIMIT_BYTES). The retry policy asks this.
   */
  get bodyReplayable(): boolean {
    return this.body === null || this.body.replayable;
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
    const routed = this.#routed;
    const route = routed.pick();
    if (route === undefined) {
      this.#fail(routed.noReplica());
      return;
    }
    const pool = this.#ctx.pool(route.origin);
    if (!pool) {
      this.#retryOrFail('gone', 'the replica left the ring');
      return;
    }
    const hints = routed.hintHeaders();
    this.bytes = hints === undefined ? this.#plain : withHintFields(this.#plain, hints, this.#headLength);
    this.#pool = pool;
    pool.dispatch(this);
  }

  withBody(): Buffer | null {
    return this.body === null ? null : this.body.withHead(this.bytes, JOIN_LIMIT);
  }

  attach(connection: UpstreamConnection): void {
    this.#connection = connection;
    this.body?.attach(connection);
  }

  /** The whole body has arrived; the exchange is over if its response is too. */
  bodyReceived(): void {
    if (this.#responseEnded && !this.abandoned) this.#front.finished(this.#keepAlive);
  }

  /**
   * The body could not be read: broken chunked framing (400) or past `--max-body-size` (413). The
   * replica's connection holds half a request, so it is cut; the client's connection is closed too.
   */
  bodyFailed(status: number, message: string): void {
    if (this.abandoned) return;
    this.abandoned = true;
    this.body?.cut();
    if (this.#connection) this.#connection.abort(this);
    else this.#pool?.withdraw(this);
    this.#keepAlive = false;
    if (this.#responseEnded) {
      // The replica has answered already (and its answer is with the client): only close.
      this.#front.finished(false);
      return;
    }
    this.#release();
    this.#routed.finish(status);
    if (this.#responded) {
      this.#front.socket.destroy();
      return;
    }
    this.#front.writeFailure({ status, message }, false);
    this.#front.finished(false);
  }

  /** The replica closed before taking the whole body, after its response: the rest cannot follow. */
  onBodyCut(): void {
    this.#keepAlive = false;
    if (this.#responseEnded) this.#front.finished(false);
  }

  /** Ends the exchange once both its response and its body are through. */
  #ended(): void {
    this.#responseEnded = true;
    if (this.body && !this.body.received) {
      // The replica answered before the body was through: the body still goes to it (it reads and
      // drops it, keeping the connection), and the next request waits for the body's end.
      return;
    }
    this.#front.finished(this.#keepAlive);
  }

  #release(): void {
    this.#connection = null;
    this.#pool = null;
  }

  onResponseHead(head: ResponseHead, _rawHeadLength: number, bodyFollows = false): void {
    this.#status = head.status;
    this.#replaced = this.#routed.answered(head.status);
    if (this.#replaced !== undefined) return;
    const untilClose =
      !head.chunked && head.contentLength < 0 && !this.isHead && head.status !== 204 && head.status !== 304;
    if (untilClose) this.#keepAlive = false;
    const out = this.#keepAlive ? clientHeadOf(head) : `${clientFields(head)}connection: close\r\n\r\n`;
    this.#responded = true;
    // A small response leaves in one write, head and body together (one system call, and one pass
    // through the socket's stream machinery instead of a cork, two writes and an uncork).
    if (bodyFollows) this.#heldHead = out;
    else this.#front.socket.write(out, 'latin1');
  }

  onResponseData(buf: Buffer, start: number, end: number): void {
    if (this.#replaced !== undefined) return;
    const socket = this.#front.socket;
    const held = this.#heldHead;
    let bytes = buf.subarray(start, end);
    if (held !== null) {
      this.#heldHead = null;
      if (end - start <= JOIN_LIMIT) bytes = joined(held, buf, start, end);
      else socket.write(held, 'latin1');
    }
    socket.write(bytes, this.#flushed);
    // Bytes the client socket has not flushed are still the connection's read buffer: it reads no
    // more until they have left (which is the backpressure, too).
    if (socket.writableLength > 0 && this.#connection && this.#holding === null) {
      this.#holding = this.#connection;
      this.#holding.holdReads();
    }
  }

  /** A response write has left (or failed): the connection reads again once all of them have. */
  readonly #flushed = (error?: Error | null) => {
    if (error || this.#front.socket.writableLength === 0) this.#releaseReads();
  };

  #releaseReads(): void {
    const connection = this.#holding;
    this.#holding = null;
    connection?.releaseReads();
  }

  onResponseEnd(): void {
    this.#release();
    if (this.#heldHead !== null) {
      this.#front.socket.write(this.#heldHead, 'latin1');
      this.#heldHead = null;
    }
    const replaced = this.#replaced;
    if (replaced !== undefined) {
      this.#routed.finish(replaced.status);
      this.#responded = true;
      this.#front.writeFailure(replaced, this.#keepAlive);
      this.#ended();
      return;
    }
    this.#routed.finish(this.#status);
    this.#ended();
  }

  onFailure(error: UpstreamError): void {
    this.#release();
    if (this.abandoned) return;
    const routed = this.#routed;
    routed.bodyReplayable = this.bodyReplayable;
    if (error.responded) {
      // Part of the response is already with the client: all we can do is cut it off.
      routed.failed(UPSTREAM_FAILURE_KINDS[error.kind], true, error.message);
      routed.finish(this.#status);
      this.#front.socket.destroy();
      return;
    }
    this.body?.detach();
    this.#retryOrFail(UPSTREAM_FAILURE_KINDS[error.kind], error.message);
  }

  #retryOrFail(kind: FailureKind, message: string): void {
    const routed = this.#routed;
    routed.bodyReplayable = this.bodyReplayable;
    if (routed.failed(kind, false, message)) this.#dispatch();
    else this.#fail(routed.gaveUp());
  }

  #fail(failure: Failure): void {
    // The rest of an unread body cannot be told from the next request: the connection closes.
    if (this.body && !this.body.received) this.#keepAlive = false;
    this.#responded = true;
    this.#routed.finish(failure.status);
    this.#front.writeFailure(failure, this.#keepAlive);
    this.#front.finished(this.#keepAlive);
  }

  /** The client closed its connection before the response was complete. */
  clientGone(): void {
    // Its unflushed bytes will never leave: the replica's connection (which may carry other
    // requests) reads again.
    this.#releaseReads();
    if (this.abandoned) return;
    this.abandoned = true;
    // An upload cut short leaves half a request on the replica's connection: that connection goes.
    this.body?.cut();
    if (this.#responseEnded) return;
    if (this.#connection) this.#connection.abort(this);
    else this.#pool?.withdraw(this);
    this.#routed.finish(499);
    this.#release();
  }
}

/** The status line and end-to-end fields of a replica's response as the client gets them. */
function clientFields(head: ResponseHead): string {
  let out = `HTTP/1.1 ${head.status} ${head.reason}\r\n`;
  const fields = head.fields;
  for (let i = 0; i < fields.length; i += 2) {
    const lower = fields[i]!.toLowerCase();
    if (isHopByHop(lower, head.connectionTokens)) continue;
    out += `${fields[i]}: ${fields[i + 1]}\r\n`;
  }
  return out;
}

/**
 * Keep-alive client heads by the replica head they were made from: an upstream connection hands out
 * the same head object again for a byte-identical head (UpstreamConnection), so a run of alike
 * responses builds the client's head once.
 */
const clientHeads = new WeakMap<ResponseHead, string>();

function clientHeadOf(head: ResponseHead): string {
  let out = clientHeads.get(head);
  if (out === undefined) {
    out = `${clientFields(head)}\r\n`;
    clientHeads.set(head, out);
  }
  return out;
}

/**
 * A request body up to this size that came whole with its head is sent in the head's buffer, with
 * no RequestBody at all (the usual small POST or PUT).
 */
export const WHOLE_BODY_BYTES = 16 * 1024;

/** Body bytes up to this much are copied behind their head into one buffer (a response's, or a request's); more go on in their own write. */
const JOIN_LIMIT = 16 * 1024;

/** A response head and its first body bytes in one buffer of their own, to leave in one write. */
function joined(head: string, buf: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(head.length + end - start);
  out.write(head, 0, 'latin1');
  buf.copy(out, head.length, start, end);
  return out;
}
