import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2Server, IncomingHttpHeaders, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import type { Logger } from 'pino';
import {
  bodyTooLarge,
  failure,
  resetH2Stream,
  respondGrpcFailure,
  respondH2Failure,
  type Failure,
} from '../core/failure.js';
import { PROTOCOL_INDEX } from '../core/protocol.js';
import { methodRefusal } from '../proxy/router.js';
import { H2Call, type H2CallContext } from './h2-call.js';
import { H2Request } from './h2-request.js';
import { SessionGuard, type H2GuardLimits } from './h2-session-guard.js';
import { http2 } from './lazy-protocols.js';

/** A header list's size as SETTINGS_MAX_HEADER_LIST_SIZE counts it: names, values, 32 per field. */
function headerListSize(raw: string[]): number {
  let size = 0;
  for (let i = 0; i < raw.length; i += 2) size += raw[i]!.length + raw[i + 1]!.length + 32;
  return size;
}

/** HTTP/2's limits on client connections (README "HTTP/2 settings and limits"). */
export interface H2Limits extends H2GuardLimits {
  readonly maxConcurrentStreams: number;
  /** Bytes of one request's header list (the HTTP/1.1 head limit, `--max-header-size`). */
  readonly maxHeaderListSize: number;
  /** A new connection must send its first request head within this (`--headers-timeout`). */
  readonly headersTimeoutMs: number;
  /** A connection with no stream open is closed after this (`--keepalive-timeout`). */
  readonly idleTimeoutMs: number;
  /** A request whose Content-Length is over this gets a 413 (`--max-body-size`; 0 = no limit). */
  readonly maxBodySize: number;
}

export const DEFAULT_H2_LIMITS: H2Limits = {
  maxConcurrentStreams: 128,
  maxHeaderListSize: 16 * 1024,
  headersTimeoutMs: 10_000,
  idleTimeoutMs: 5_000,
  maxBodySize: 0,
  maxResets: 100,
  maxControlFrames: 100,
};

/**
 * Invalid frames a session may send before it is closed; HTTP/2 counts empty DATA frames that do not
 * end their stream among them (CVE-2019-9518). Envoy allows one in a row, nghttp2 1000 in all.
 */
const MAX_INVALID_FRAMES = 100;
/** Header fields of one request, as the HTTP/1.1 front allows. */
const MAX_HEADER_PAIRS = 128;
/** Connection-level receive window: uploads on many streams are not held back by the 64 KiB default. */
const SESSION_WINDOW = 4 * 1024 * 1024;

export interface H2FrontendOptions {
  readonly limits: H2Limits;
  readonly call: H2CallContext;
  isLocalPath(pathname: string): boolean;
  handleLocal(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void>;
  readonly trustForwarded: boolean;
  readonly logger: Logger;
  /** RFC 8441 WebSockets over HTTP/2 (`:method CONNECT`, `:protocol websocket`). */
  readonly onExtendedConnect?: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void;
}

interface SessionState {
  open: number;
  readonly guard: SessionGuard;
  readonly idle: NodeJS.Timeout;
  firstHead: NodeJS.Timeout | undefined;
}

/**
 * HTTP/2 clients on Node's core stream API: each stream is taken as it comes ('stream' event, no
 * compatibility objects except for the balancer's own endpoints) and proxied on its own through
 * the router. Sessions get limits of their own: concurrent streams and header list size by SETTINGS,
 * a deadline for the first request head, an idle timeout that PINGs do not reset, and the flood
 * guard. `close()` sends GOAWAY and lets the streams in flight finish.
 */
export class H2Frontend {
  readonly server: Http2Server;
  readonly #options: H2FrontendOptions;
  readonly #sessions = new Set<ServerHttp2Session>();

  constructor(options: H2FrontendOptions) {
    this.#options = options;
    const { limits } = options;
    this.server = http2().createServer({
      settings: {
        maxConcurrentStreams: limits.maxConcurrentStreams,
        maxHeaderListSize: limits.maxHeaderListSize,
        enablePush: false,
        enableConnectProtocol: options.onExtendedConnect !== undefined,
      },
      maxHeaderListPairs: MAX_HEADER_PAIRS,
      maxSessionInvalidFrames: MAX_INVALID_FRAMES,
    });
    this.server.on('session', (session: ServerHttp2Session) => this.#onSession(session));
  }

  #onSession(session: ServerHttp2Session): void {
    const { limits, logger } = this.#options;
    this.#sessions.add(session);
    const remote = session.socket?.remoteAddress;
    const guard = new SessionGuard(session, limits, (reason) =>
      logger.warn({ remote, reason }, 'HTTP/2 client flooded: GOAWAY ENHANCE_YOUR_CALM'),
    );
    // Neither timer is reset by activity: a client that only PINGs, or drips a header block, is idle.
    const idle = setTimeout(() => {
      if (state.open === 0) session.close();
    }, limits.idleTimeoutMs);
    const firstHead = setTimeout(() => {
      if (state.firstHead !== undefined) session.destroy();
    }, limits.headersTimeoutMs);
    const state: SessionState = { open: 0, guard, idle, firstHead };
    session.on('error', () => undefined);
    session.once('connect', () => {
      try {
        session.setLocalWindowSize(SESSION_WINDOW);
      } catch {
        // Closed already.
      }
    });
    session.once('close', () => {
      clearTimeout(state.idle);
      if (state.firstHead) clearTimeout(state.firstHead);
      this.#sessions.delete(session);
    });
    session.on(
      'stream',
      (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, raw: string[]) =>
        this.#onStream(session, state, stream, headers, flags, raw),
    );
  }

  #onStream(
    session: ServerHttp2Session,
    state: SessionState,
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    flags: number,
    rawHeaders: string[],
  ): void {
    state.open++;
    if (state.firstHead) {
      clearTimeout(state.firstHead);
      state.firstHead = undefined;
    }
    state.guard.streamOpened();
    stream.once('close', () => {
      if (--state.open === 0) state.idle.refresh();
    });
    // A reset from either side surfaces as an error on the stream; the call has seen the close.
    stream.on('error', () => undefined);
    const options = this.#options;
    const socket = session.socket as { remoteAddress?: string; encrypted?: boolean } | undefined;
    const request = new H2Request(
      headers,
      (flags & http2().constants.NGHTTP2_FLAG_END_STREAM) !== 0,
      socket?.remoteAddress,
      socket?.encrypted === true,
      options.trustForwarded,
    );
    if (headerListSize(rawHeaders) > options.limits.maxHeaderListSize) {
      // nghttp2 does not hold clients to the SETTINGS_MAX_HEADER_LIST_SIZE it announces; we do.
      this.#refuse(stream, request, failure(431, 'request head too large'));
      return;
    }
    if (
      headers[':method'] === 'CONNECT' &&
      headers[':protocol'] === 'websocket' &&
      options.onExtendedConnect
    ) {
      options.onExtendedConnect(stream, headers);
      return;
    }
    // The same refusals as over HTTP/1.1: CONNECT (405 with Allow), a method not proxied (501).
    const refusal = methodRefusal(request.method);
    if (refusal !== undefined) {
      this.#refuse(stream, request, refusal);
      return;
    }
    const maxBody = options.limits.maxBodySize;
    const declared = Number(headers['content-length'] ?? 0);
    if (maxBody > 0 && declared > maxBody) {
      // Refused before a byte goes upstream, as over HTTP/1.1.
      this.#refuse(stream, request, bodyTooLarge(maxBody));
      return;
    }
    const pathname = request.pathname;
    if (options.isLocalPath(pathname)) {
      // The control API is written for node:http; the compatibility objects are close enough to it.
      const req = new (http2().Http2ServerRequest)(stream, headers, {}, rawHeaders);
      const res = new (http2().Http2ServerResponse)(stream);
      options
        .handleLocal(req as unknown as IncomingMessage, res as unknown as ServerResponse, pathname)
        .catch((error: unknown) => {
          options.logger.error({ err: error }, 'HTTP/2 request failed');
          resetH2Stream(stream, 'the request failed');
        });
      return;
    }
    new H2Call(stream, request, options.call, () => state.guard.prematureReset(), maxBody).start();
  }

  /** A request refused before routing: answered, counted and logged like any other. */
  #refuse(stream: ServerHttp2Stream, request: H2Request, f: Failure): void {
    // Whatever body the client sends is read and dropped.
    stream.resume();
    if (request.grpc) respondGrpcFailure(stream, f);
    else respondH2Failure(stream, f);
    const protocol = request.grpc ? PROTOCOL_INDEX.grpc : PROTOCOL_INDEX.h2;
    this.#options.call.router.refused(request, protocol, f.status, 0);
  }

  /** Open client sessions. */
  get sessions(): number {
    return this.#sessions.size;
  }

  /** GOAWAY to every client: streams in flight finish, new ones are refused. */
  close(): void {
    for (const session of this.#sessions) session.close();
  }

  /** Closes every session at once (after the drain). */
  destroy(): void {
    for (const session of this.#sessions) session.destroy();
    this.#sessions.clear();
  }
}
