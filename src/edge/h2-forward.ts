import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import {
  constants,
  type ClientHttp2Stream,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from 'node:http2';
import { once } from 'node:events';
import type { RoutingTable } from '../membership/cluster.js';
import { RETRYABLE_METHODS, UNREACHABLE } from '../proxy/forward.js';
import { downstreamResponseHeaders, upstreamRequestHeaders } from '../proxy/headers.js';
import { viewOf, type RequestView } from '../proxy/request-view.js';
import type { Upstreams } from '../proxy/upstreams.js';
import type { H2Upstreams } from './h2-upstreams.js';

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

function withoutPseudo(headers: IncomingHttpHeaders): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {};
  for (const [name, value] of Object.entries(headers)) if (name[0] !== ':') out[name] = value;
  return out;
}

/** Writes a body chunk by chunk, waiting when the client's stream window is full. */
async function pump(body: AsyncIterable<Buffer>, res: Http2ServerResponse): Promise<void> {
  for await (const chunk of body) {
    if (!res.write(chunk)) await once(res, 'drain');
  }
}

function fail(res: Http2ServerResponse, grpc: boolean, status: number, message: string): void {
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
  const bodyless = req.readableEnded || req.headers['content-length'] === '0';
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
      await toH2Replica(req, res, options, route.origin, route.name, grpc);
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

/** One stream to a replica over HTTP/2: headers, body and trailers passed on as they come. */
async function toH2Replica(
  req: Http2ServerRequest,
  res: Http2ServerResponse,
  options: H2ForwardOptions,
  origin: string,
  replica: string,
  grpc: boolean,
): Promise<void> {
  const headers: OutgoingHttpHeaders = {
    ...replicaHeaders(req, options.trustForwarded),
    ':method': req.headers[':method'],
    ':path': req.headers[':path'],
    ':authority': req.headers[':authority'] ?? req.headers.host,
  };
  delete headers.host;
  // gRPC asks for trailers with `te: trailers`, the one TE value HTTP/2 allows (RFC 9113 §8.2.2).
  if (req.headers.te === 'trailers') headers.te = 'trailers';
  let upstream: ClientHttp2Stream;
  try {
    upstream = options.h2.session(origin).request(headers);
  } catch (error) {
    fail(res, grpc, 502, `replica '${replica}' failed: ${(error as Error).message}`);
    return;
  }
  await new Promise<void>((resolve) => {
    let trailersOnly = false;
    upstream.on('response', (head, flags) => {
      const out = downstreamResponseHeaders(withoutPseudo(head)) as OutgoingHttpHeaders;
      // A trailers-only answer (gRPC errors) ends with its headers: its status goes in the trailers.
      trailersOnly = (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0 && out['grpc-status'] !== undefined;
      if (trailersOnly) {
        res.addTrailers({
          'grpc-status': out['grpc-status'] as string,
          'grpc-message': (out['grpc-message'] as string) ?? '',
        });
        delete out['grpc-status'];
        delete out['grpc-message'];
      }
      res.writeHead(Number(head[':status'] ?? 502), out);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!res.write(chunk)) upstream.pause();
    });
    res.on('drain', () => upstream.resume());
    upstream.on('trailers', (trailers) =>
      res.addTrailers(downstreamResponseHeaders(withoutPseudo(trailers))),
    );
    upstream.on('end', () => {
      res.end();
      resolve();
    });
    upstream.on('error', (error) => {
      fail(
        res,
        grpc,
        502,
        `replica '${replica}' failed: ${(error as { code?: string }).code ?? error.message}`,
      );
      resolve();
    });
    upstream.on('close', () => {
      if (!res.writableEnded && upstream.rstCode !== constants.NGHTTP2_NO_ERROR)
        res.stream.close(upstream.rstCode);
      resolve();
    });
    // The client cancelled: cancel the replica's stream too.
    res.on('close', () => {
      if (!upstream.closed) upstream.close(constants.NGHTTP2_CANCEL);
      resolve();
    });
    req.pipe(upstream);
  });
}
