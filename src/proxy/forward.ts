import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RinglbError, seedMessage } from '../core/errors.js';
import { sendFailure } from '../core/json-response.js';
import type { Route, RoutingTable } from '../membership/routing-table.js';
import type { Telemetry } from '../ops/telemetry.js';
import { downstreamResponseHeaders, RINGLB_ONLY_FIELDS, upstreamRequestHeaders } from './headers.js';
import { requestIdFrom } from './request-id.js';
import { viewOf, type RequestView } from './request-view.js';
import type { Upstreams } from './upstreams.js';

export interface ForwardOptions {
  readonly table: () => RoutingTable;
  readonly upstreams: Upstreams;
  /** Further replicas to try when one cannot be reached (idempotent requests without a body only). */
  readonly retries: number;
  /** Answer a replica's 404 with the seed's 400 "endpoint does not exist in server replicas". */
  readonly seedNotFound: boolean;
  /** Largest request body passed on; 0 for no limit. */
  readonly maxBodySize: number;
  /** Keep the client's own X-Forwarded-For (appending to it) instead of replacing it. */
  readonly trustForwarded: boolean;
  readonly telemetry?: Telemetry;
  /** The request's ring key (`--hash-key`); the seed's x-request-id when not given. */
  readonly key?: (view: RequestView) => number;
  /**
   * Headers ringlb adds for the replica a try goes to (hand-off hints, `key-hints.ts`), given the
   * request's key and the member index picked; undefined adds none.
   */
  readonly hints?: (key: number, table: RoutingTable, index: number) => Readonly<Record<string, string>>;
  /** Sends the request over HTTP/2 if the replica is marked so (undefined when it is not). */
  readonly viaH2?: (
    req: IncomingMessage,
    res: ServerResponse,
    route: Route,
    headers: Record<string, string | string[]>,
  ) => Promise<void> | undefined;
}

/** The request body, streamed, cut off with a 413 once it passes `limit` bytes. */
async function* limited(req: IncomingMessage, limit: number): AsyncGenerator<Buffer> {
  let seen = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    seen += chunk.length;
    if (seen > limit)
      throw new RinglbError('ERR_BODY_TOO_LARGE', seedMessage(`the body is larger than ${limit} bytes`), 413);
    yield chunk;
  }
}

export const RETRYABLE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
/** Failures that happen before the replica has seen the request, so trying another one is safe. */
export const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Sends one client request to the replica the ring picks for its id, streaming both ways. Resolves
 * with the name of the replica that answered (or was tried last), "(none)" when there was none.
 */
export async function forward(
  req: IncomingMessage,
  res: ServerResponse,
  options: ForwardOptions,
): Promise<string> {
  const id = options.key
    ? options.key(viewOf(req.method ?? 'GET', req.url ?? '/', req.headers, req.socket.remoteAddress))
    : requestIdFrom(req.headers['x-request-id']);
  const table = options.table();
  const withBody = hasBody(req);
  const retryable = !withBody && RETRYABLE_METHODS.has(req.method ?? '');
  if (options.maxBodySize > 0 && Number(req.headers['content-length'] ?? 0) > options.maxBodySize) {
    req.resume();
    res.shouldKeepAlive = false;
    sendFailure(
      res,
      new RinglbError(
        'ERR_BODY_TOO_LARGE',
        seedMessage(`the body is larger than ${options.maxBodySize} bytes`),
        413,
      ),
    );
    return '(none)';
  }
  const headers = upstreamRequestHeaders(req.headers, req.socket.remoteAddress, options.trustForwarded);
  if ((req.socket as { encrypted?: boolean }).encrypted) headers['x-forwarded-proto'] = 'https';
  let path = req.url ?? '/';
  // An absolute-form target (`GET http://host/x`) is sent on in origin form with its own host, so
  // that the replica never sees two different hosts for one request.
  if (!path.startsWith('/') && /^https?:\/\//i.test(path)) {
    const url = new URL(path);
    path = `${url.pathname}${url.search}`;
    headers.host = url.host;
  }
  // A client that goes away cancels the request to the replica too.
  const aborted = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) aborted.abort();
  });

  for (let attempt = 0; ; attempt++) {
    const index = table.ring.pick(id, attempt);
    if (index < 0) {
      const message = attempt === 0 ? 'no healthy replica is available' : 'no replica could be reached';
      sendFailure(
        res,
        new RinglbError(
          attempt === 0 ? 'ERR_NO_REPLICA' : 'ERR_UPSTREAM',
          seedMessage(message),
          attempt === 0 ? 503 : 502,
        ),
      );
      return '(none)';
    }
    const route = table.routes[index]!;
    if (options.hints) {
      for (const name of RINGLB_ONLY_FIELDS) delete headers[name];
      Object.assign(headers, options.hints(id, table, index));
    }
    const viaH2 = options.viaH2?.(req, res, route, headers);
    if (viaH2) return viaH2.then(() => route.name);
    if (attempt > 0) options.telemetry?.retry();
    // In flight on this replica until its reply is streamed: bounded-load rings read these counts.
    table.loads[index]!++;
    let response;
    try {
      response = await options.upstreams.poolFor(route.origin).request({
        path,
        method: req.method as 'GET',
        headers,
        body: withBody
          ? options.maxBodySize > 0
            ? Readable.from(limited(req, options.maxBodySize))
            : req
          : null,
        signal: aborted.signal,
      });
    } catch (error) {
      table.loads[index]!--;
      if (aborted.signal.aborted) return route.name;
      if (error instanceof RinglbError) {
        res.shouldKeepAlive = false;
        sendFailure(res, error);
        return route.name;
      }
      const code = (error as { code?: string }).code ?? '';
      if (retryable && UNREACHABLE.has(code) && attempt < options.retries) continue;
      const timedOut = code === 'UND_ERR_HEADERS_TIMEOUT';
      sendFailure(
        res,
        new RinglbError(
          'ERR_UPSTREAM',
          seedMessage(
            `replica '${route.name}' ${timedOut ? 'did not answer in time' : `failed: ${code || (error as Error).message}`}`,
          ),
          timedOut ? 504 : 502,
        ),
      );
      return route.name;
    }
    if (response.statusCode === 404 && options.seedNotFound) {
      await response.body.dump();
      table.loads[index]!--;
      const pathname = path.split('?', 1)[0];
      sendFailure(
        res,
        new RinglbError(
          'ERR_ENDPOINT_NOT_FOUND',
          seedMessage(`'${pathname}' endpoint does not exist in server replicas`),
        ),
      );
      return route.name;
    }
    res.writeHead(response.statusCode, downstreamResponseHeaders(response.headers));
    try {
      await pipeline(response.body, res);
    } catch {
      // The client went away or the replica broke off mid-body: pipeline has closed both sides.
    }
    table.loads[index]!--;
    return route.name;
  }
}
