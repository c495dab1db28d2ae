import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { constants, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { once } from 'node:events';
import type { RoutingTable } from '../membership/routing-table.js';
import { RETRYABLE_METHODS, UNREACHABLE } from '../proxy/forward.js';
import { downstreamResponseHeaders, upstreamRequestHeaders } from '../proxy/headers.js';
import { viewOf, type RequestView } from '../proxy/request-view.js';
import type { Upstreams } from '../proxy/upstreams.js';
import type { H2Upstreams } from './h2-upstreams.js';
import { toH2Replica } from './h2-replica.js';

export interface H2ForwardOptions {
  readonly table: () => RoutingTable;
  readonly keyOf: (view: RequestView) => number;
  /** HTTP/1.1 keep-alive pools, for replicas that speak HTTP/1.1. */
  readonly upstreams: Upstreams;
  /** HTTP/2 sessions, for replicas marked as speaking HTTP/2. */
  readonly h2: H2Upstreams;
  readonly isH2: (origin: string) => boolean;
  readonly retries: number;
  readonly trustForwarded: boolean;
}

/** gRPC status UNAVAILABLE: the client may retry (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
const GRPC_UNAVAILABLE = '14';

function isGrpc(headers: IncomingHttpHeaders): boolean {
  return (headers['content-type'] ?? '').startsWith('application/grpc');
}

/** The request's end-to-end headers, as an HTTP/1.1 replica sees them (Host from :authority). */
function replicaHeaders(req: Http2ServerRequest, trustForwarded: boolean): Record<string, string | string[]> {
  const plain: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) if (name[0] !== ':') plain[name] = value;
  if (plain.host === undefined && req.headers[':authority'] !== undefined)
    plain.host = req.headers[':authority'];
  const headers = upstreamRequestHeaders(plain, req.socket.remoteAddress, trustForwarded);
  headers['x-forwarded-proto'] = req.headers[':scheme'] === 'http' ? 'http' : 'https';
  return headers;
}

/** Writes a body chunk by chunk, waiting when the client's stream window is full. */
async function pump(body: AsyncIterable<Buffer>, res: Http2ServerResponse): Promise<void> {
  for await (const chunk of body) {
    if (!res.write(chunk)) await once(res, 'drain');
  }
}

export function fail(res: Http2ServerResponse, grpc: boolean, status: number, message: string): void {
  if (res.headersSent) {
    res.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    return;
  }
  if (grpc) {
    // gRPC errors are a 200 with a status in the trailers.
    res.writeHead(200, { 'content-type': 'application/grpc' });
    res.addTrailers({ 'grpc-status': GRPC_UNAVAILABLE, 'grpc-message': encodeURIComponent(message) });
    res.end();
    return;
  }
  const body = JSON.stringify({ message: `<Error> ${message}`, status: 'failure' });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Sends one HTTP/2 stream to the replica the ring picks for its key, streaming both ways, trailers
 * included. Each stream of a connection is hashed and sent on its own.
 */
export async function forwardStream(
  req: Http2ServerRequest,
  res: Http2ServerResponse,
  options: H2ForwardOptions,
): Promise<void> {
  const method = req.headers[':method'] ?? 'GET';
  const path = req.headers[':path'] ?? '/';
  const grpc = isGrpc(req.headers);
  const key = options.keyOf(viewOf(method, path, req.headers, req.socket.remoteAddress));
  const table = options.table();
  // END_STREAM on the HEADERS frame: there is no body (a GET's usual case).
  const bodyless = req.stream.endAfterHeaders || req.headers['content-length'] === '0';
  const retryable = bodyless && RETRYABLE_METHODS.has(method);
  for (let attempt = 0; ; attempt++) {
    const index = table.ring.pick(key, attempt);
    if (index < 0) {
      fail(
        res,
        grpc,
        attempt === 0 ? 503 : 502,
        attempt === 0 ? 'no healthy replica is available' : 'no replica could be reached',
      );
      return;
    }
    const route = table.routes[index]!;
    if (options.isH2(route.origin)) {
      const headers = replicaHeaders(req, options.trustForwarded);
      await toH2Replica(options.h2, route, { method, path, headers, body: req }, res, (message) =>
        fail(res, grpc, 502, message),
      );
      return;
    }
    const aborted = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) aborted.abort();
    });
    let response;
    try {
      response = await options.upstreams.poolFor(route.origin).request({
        path,
        method: method as 'GET',
        headers: replicaHeaders(req, options.trustForwarded),
        body: bodyless ? null : req,
        signal: aborted.signal,
      });
    } catch (error) {
      if (aborted.signal.aborted) return;
      const code = (error as { code?: string }).code ?? '';
      if (retryable && UNREACHABLE.has(code) && attempt < options.retries) continue;
      fail(res, grpc, 502, `replica '${route.name}' failed: ${code || (error as Error).message}`);
      return;
    }
    res.writeHead(response.statusCode, downstreamResponseHeaders(response.headers) as OutgoingHttpHeaders);
    try {
      await pump(response.body, res);
      const trailers = downstreamResponseHeaders(response.trailers);
      if (Object.keys(trailers).length > 0) res.addTrailers(trailers);
      res.end();
    } catch {
      // The client went away or the replica broke off mid-body.
      response.body.destroy();
      if (!res.writableEnded) res.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    }
    return;
  }
}
