import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { constants, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { once } from 'node:events';
import { failureBody, failureHeaders, grpcFailureTrailers, type Failure } from '../core/failure.js';
import { PROTOCOL_INDEX } from '../core/protocol.js';
import { downstreamResponseHeaders, upstreamRequestHeaders } from '../proxy/headers.js';
import { viewOf } from '../proxy/request-view.js';
import { methodRefusal, type Router } from '../proxy/router.js';
import { failureKindOf } from '../proxy/upstream-errors.js';
import type { Upstreams } from '../proxy/upstreams.js';
import type { H2Upstreams } from './h2-upstreams.js';
import { settleH2Outcome, toH2Replica } from './h2-replica.js';

export interface H2ForwardOptions {
  readonly router: Router;
  /** HTTP/1.1 keep-alive pools, for replicas that speak HTTP/1.1. */
  readonly upstreams: Upstreams;
  /** HTTP/2 sessions, for replicas marked as speaking HTTP/2. */
  readonly h2: H2Upstreams;
  readonly isH2: (origin: string) => boolean;
  readonly trustForwarded: boolean;
}

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

/** A failure of ringlb's own on an HTTP/2 stream: gRPC status for gRPC calls, JSON otherwise. */
export function fail(res: Http2ServerResponse, grpc: boolean, f: Failure): void {
  if (res.headersSent) {
    res.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    return;
  }
  // Through the compatibility response, which owns the stream's headers and trailers.
  if (grpc) {
    res.writeHead(200, { 'content-type': 'application/grpc' });
    res.addTrailers(grpcFailureTrailers(f));
    res.end();
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
 * Sends one HTTP/2 stream to the replica the router picks for its key, streaming both ways, trailers
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
  // END_STREAM on the HEADERS frame: there is no body (a GET's usual case).
  const bodyless = req.stream.endAfterHeaders || req.headers['content-length'] === '0';
  const routed = options.router.begin(viewOf(method, path, req.headers, req.socket.remoteAddress), {
    protocol: grpc ? PROTOCOL_INDEX.grpc : PROTOCOL_INDEX.h2,
    grpc,
    bodyReplayable: bodyless,
  });
  const answer = {
    fail: (f: Failure) => fail(res, grpc, f),
    cut: () => res.stream.close(constants.NGHTTP2_INTERNAL_ERROR),
    status: () => res.statusCode,
  };
  const reply = (f: Failure) => {
    answer.fail(f);
    routed.finish(f.status);
  };
  const refusal = methodRefusal(method);
  if (refusal !== undefined) return reply(refusal);
  for (;;) {
    const route = routed.pick();
    if (route === undefined) return reply(routed.noReplica());
    if (options.isH2(route.origin)) {
      const headers = replicaHeaders(req, options.trustForwarded);
      const outcome = await toH2Replica(
        options.h2,
        routed,
        route,
        { method, path, headers, body: bodyless ? null : req },
        res,
      );
      if (settleH2Outcome(outcome, routed, answer)) continue;
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
      if (aborted.signal.aborted) return routed.finish(499);
      const code = (error as { code?: string }).code;
      if (routed.failed(failureKindOf(code), false, code ?? (error as Error).message)) continue;
      return reply(routed.gaveUp());
    }
    const replaced = routed.answered(response.statusCode);
    if (replaced !== undefined) {
      await response.body.dump();
      return reply(replaced);
    }
    res.writeHead(response.statusCode, downstreamResponseHeaders(response.headers) as OutgoingHttpHeaders);
    try {
      await pump(response.body, res);
      const trailers = downstreamResponseHeaders(response.trailers);
      if (Object.keys(trailers).length > 0) res.addTrailers(trailers);
      res.end();
    } catch (error) {
      // The client went away or the replica broke off mid-body.
      response.body.destroy();
      if (!res.writableEnded) res.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
      if (!aborted.signal.aborted) {
        const code = (error as { code?: string }).code;
        routed.failed(failureKindOf(code), true, code ?? (error as Error).message);
      }
    }
    routed.finish(aborted.signal.aborted ? 499 : response.statusCode);
    return;
  }
}
