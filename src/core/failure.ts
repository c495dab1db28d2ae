import type { ServerResponse } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';
import { seedMessage } from './errors.js';

/**
 * A refusal or failure that ringlb itself answers, whatever the protocol. One value, rendered by the
 * adapters below for a raw HTTP/1.1 socket, a node response, an HTTP/2 stream and a gRPC call, so
 * every protocol says the same thing in the seed's shape (`{"message":"<Error> ...","status":"failure"}`).
 */
export interface Failure {
  readonly status: number;
  /** Without the seed's "<Error> " prefix; the renderers add it. */
  readonly message: string;
  /** Extra response headers (lower-case names), e.g. `allow` for a 405. */
  readonly headers?: Readonly<Record<string, string>>;
}

export function failure(status: number, message: string, headers?: Record<string, string>): Failure {
  return headers === undefined ? { status, message } : { status, message, headers };
}

/** A request body over `--max-body-size` (`limit` bytes): the same 413 on every protocol. */
export function bodyTooLarge(limit: number): Failure {
  return failure(413, `the body is larger than ${limit} bytes`);
}

export const REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Content Too Large',
  417: 'Expectation Failed',
  431: 'Request Header Fields Too Large',
  499: 'Client Closed Request',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};

export function failureBody(f: Failure): string {
  return JSON.stringify({ message: seedMessage(f.message), status: 'failure' });
}

/** Headers every rendering carries: a 503 tells clients when to come back (RFC 9110 §10.2.3). */
export function failureHeaders(f: Failure): Record<string, string> {
  const extra: Record<string, string> = f.status === 503 ? { 'retry-after': '1' } : {};
  return f.headers === undefined ? extra : { ...extra, ...f.headers };
}

/** The whole HTTP/1.1 response, for a raw socket; `keepAlive` false adds `connection: close`. */
export function rawFailure(f: Failure, keepAlive: boolean): string {
  const body = failureBody(f);
  let head =
    `HTTP/1.1 ${f.status} ${REASONS[f.status] ?? 'Error'}\r\n` +
    `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n`;
  for (const [name, value] of Object.entries(failureHeaders(f))) head += `${name}: ${value}\r\n`;
  if (!keepAlive) head += 'connection: close\r\n';
  return `${head}\r\n${body}`;
}

/** On a node:http response; a response already under way can only be cut off. */
export function sendNodeFailure(res: ServerResponse, f: Failure): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = failureBody(f);
  res.writeHead(f.status, {
    ...failureHeaders(f),
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/**
 * Resets an HTTP/2 stream whose response cannot be completed (RST_STREAM INTERNAL_ERROR). Not
 * `stream.close(code)`: on a stream the client has finished sending, Node ends the response cleanly
 * first, and the client would take a cut-off body for a whole one.
 */
export function resetH2Stream(stream: ServerHttp2Stream, reason: string): void {
  if (!stream.destroyed) stream.destroy(new Error(reason));
}

/** On an HTTP/2 stream (plain HTTP/2, not gRPC); a stream whose headers went out is reset. */
export function respondH2Failure(stream: ServerHttp2Stream, f: Failure): void {
  if (stream.destroyed || stream.closed) return;
  if (stream.headersSent) {
    resetH2Stream(stream, f.message);
    return;
  }
  const body = failureBody(f);
  stream.respond({
    ...failureHeaders(f),
    ':status': f.status,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  stream.end(body);
}

/**
 * gRPC's status for a failure of ringlb's own (https://grpc.github.io/grpc/core/md_doc_statuscodes.html
 * and "HTTP to gRPC Status Code Mapping").
 */
export function grpcStatusOf(status: number): number {
  switch (status) {
    case 400:
      return 13; // INTERNAL: a malformed request never reaches a gRPC handler
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
    case 405:
    case 501:
      return 12; // UNIMPLEMENTED
    case 413:
    case 429:
    case 431:
      return 8; // RESOURCE_EXHAUSTED
    case 504:
      return 4; // DEADLINE_EXCEEDED
    case 502:
    case 503:
      return 14; // UNAVAILABLE: the client may try again
    default:
      return 2; // UNKNOWN
  }
}

/**
 * The HTTP status a replica's gRPC status stands for, for passive health: the failures of the server
 * (UNKNOWN, DEADLINE_EXCEEDED, INTERNAL, UNAVAILABLE, DATA_LOSS) as 5xx, everything else as 200.
 * Envoy's outlier detection maps them the same way (Grpc::Utility::grpcToHttpStatus).
 */
export function httpStatusOfGrpc(grpcStatus: number): number {
  switch (grpcStatus) {
    case 2:
    case 13:
    case 15:
      return 500;
    case 4:
      return 504;
    case 14:
      return 503;
    default:
      return 200;
  }
}

/** gRPC's percent-encoding of grpc-message (PROTOCOL-HTTP2.md). */
function grpcMessage(text: string): string {
  return encodeURIComponent(text);
}

/** The trailers of a failed gRPC call. */
export function grpcFailureTrailers(f: Failure): Record<string, string> {
  return {
    'grpc-status': String(grpcStatusOf(f.status)),
    'grpc-message': grpcMessage(seedMessage(f.message)),
  };
}

/**
 * A failed gRPC call: HTTP 200, then its status in trailers. (A Trailers-Only response would do for
 * grpc-js, but simpler clients read the status from trailers only.) A call whose response headers
 * already went out is reset.
 */
export function respondGrpcFailure(stream: ServerHttp2Stream, f: Failure): void {
  if (stream.destroyed || stream.closed) return;
  if (stream.headersSent) {
    resetH2Stream(stream, f.message);
    return;
  }
  const trailers = grpcFailureTrailers(f);
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.once('wantTrailers', () => stream.sendTrailers(trailers));
  stream.end();
}
