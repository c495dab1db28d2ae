import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { RinglbError, seedMessage } from '../core/errors.js';
import { sendFailure } from '../core/json-response.js';
import type { RoutingTable } from '../membership/cluster.js';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './headers.js';
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
  /** The request's ring key (`--hash-key`); the seed's x-request-id when not given. */
  readonly key?: (view: RequestView) => number;
}

const RETRYABLE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
/** Failures that happen before the replica has seen the request, so trying another one is safe. */
const UNREACHABLE = new Set([
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

/** Sends one client request to the replica the ring picks for its id, streaming both ways. */
export async function forward(
  req: IncomingMessage,
  res: ServerResponse,
  options: ForwardOptions,
): Promise<void> {
  const id = options.key
    ? options.key(viewOf(req.method ?? 'GET', req.url ?? '/', req.headers, req.socket.remoteAddress))
    : requestIdFrom(req.headers['x-request-id']);
  const table = options.table();
  const withBody = hasBody(req);
  const retryable = !withBody && RETRYABLE_METHODS.has(req.method ?? '');
  const headers = upstreamRequestHeaders(req.headers, req.socket.remoteAddress);
  const path = req.url ?? '/';

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
      return;
    }
    const route = table.routes[index]!;
    // In flight on this replica until its reply is streamed: bounded-load rings read these counts.
    table.loads[index]!++;
    let response;
    try {
      response = await options.upstreams.poolFor(route.origin).request({
        path,
        method: req.method as 'GET',
        headers,
        body: withBody ? req : null,
      });
    } catch (error) {
      table.loads[index]!--;
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
      return;
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
      return;
    }
    res.writeHead(response.statusCode, downstreamResponseHeaders(response.headers));
    try {
      await pipeline(response.body, res);
    } catch {
      // The client went away or the replica broke off mid-body: pipeline has closed both sides.
    }
    table.loads[index]!--;
    return;
  }
}
