import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { constants } from 'node:http2';
import type { Readable } from 'node:stream';
import type { Route } from '../membership/routing-table.js';
import { downstreamResponseHeaders } from '../proxy/headers.js';
import type { H2Upstreams } from './h2-upstreams.js';

/** What is sent to the replica: end-to-end headers (Host included) and the body as it arrives. */
export interface H2Outgoing {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string | string[]>;
  readonly body: Readable;
}

/** The client's response, HTTP/1.1 (`http.ServerResponse`) or HTTP/2 (`Http2ServerResponse`). */
export interface Downstream {
  writeHead(status: number, headers: OutgoingHttpHeaders): unknown;
  write(chunk: Buffer): boolean;
  addTrailers(trailers: OutgoingHttpHeaders): void;
  end(): unknown;
  readonly writableEnded: boolean;
  on(event: 'drain' | 'close', listener: () => void): unknown;
}

function withoutPseudo(headers: IncomingHttpHeaders): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {};
  for (const [name, value] of Object.entries(headers)) if (name[0] !== ':') out[name] = value;
  return out;
}

/**
 * One request to a replica over HTTP/2: headers, body and trailers passed on as they come, a
 * cancelled client cancelling the replica's stream. `fail` answers when the replica cannot be asked
 * or breaks off (it is given a message; it decides how to tell the client).
 */
export function toH2Replica(
  h2: H2Upstreams,
  route: Route,
  outgoing: H2Outgoing,
  res: Downstream,
  fail: (message: string) => void,
): Promise<void> {
  const headers: OutgoingHttpHeaders = {
    ...outgoing.headers,
    ':method': outgoing.method,
    ':path': outgoing.path,
    ':authority': (outgoing.headers.host as string | undefined) ?? new URL(route.origin).host,
  };
  delete headers.host;
  // gRPC asks for trailers with `te: trailers`, the one TE value HTTP/2 allows (RFC 9113 §8.2.2).
  headers.te = 'trailers';
  let upstream: ReturnType<ReturnType<H2Upstreams['session']>['request']>;
  try {
    upstream = h2.session(route.origin).request(headers);
  } catch (error) {
    fail(`replica '${route.name}' failed: ${(error as Error).message}`);
    return Promise.resolve();
  }
  return new Promise<void>((resolve) => {
    upstream.on('response', (head, flags) => {
      const out = downstreamResponseHeaders(withoutPseudo(head)) as OutgoingHttpHeaders;
      // A trailers-only answer (gRPC errors) ends with its headers: its status goes in the trailers.
      const trailersOnly =
        (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0 && out['grpc-status'] !== undefined;
      if (trailersOnly) {
        res.addTrailers({ 'grpc-status': out['grpc-status'], 'grpc-message': out['grpc-message'] ?? '' });
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
    upstream.on('error', (error: Error & { code?: string }) => {
      fail(`replica '${route.name}' failed: ${error.code ?? error.message}`);
      resolve();
    });
    upstream.on('close', () => {
      if (!res.writableEnded) fail(`replica '${route.name}' reset the stream (${upstream.rstCode})`);
      resolve();
    });
    res.on('close', () => {
      if (!upstream.closed) upstream.close(constants.NGHTTP2_CANCEL);
      resolve();
    });
    outgoing.body.pipe(upstream);
  });
}
