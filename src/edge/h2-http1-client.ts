import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { RinglbError, seedMessage } from '../core/errors.js';
import { sendFailure } from '../core/json-response.js';
import type { Route } from '../membership/routing-table.js';
import { attemptH2Replica, type ResponseSink } from './h2-replica.js';
import { ReplayBody } from './h2-replay-body.js';
import type { UpstreamSession } from './h2-upstreams.js';

/** An HTTP/1.1 client's response as a replica's HTTP/2 response is written to it. */
function nodeResponseSink(res: ServerResponse): ResponseSink {
  return {
    head(status, headers, endStream) {
      res.writeHead(status, headers);
      if (endStream) res.end();
    },
    data: (chunk) => res.write(chunk),
    onDrain: (resume) => void res.once('drain', resume),
    end(trailers) {
      if (res.writableEnded) return;
      if (trailers && Object.keys(trailers).length > 0) res.addTrailers(trailers as Record<string, string>);
      res.end();
    },
  };
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * An HTTP/1.1 client's request to a replica that speaks only HTTP/2 (one attempt; the caller owns
 * retries). `headers` are the end-to-end headers the caller prepared, Host included.
 */
export async function toH2ReplicaFromHttp1(
  lease: UpstreamSession,
  route: Route,
  req: IncomingMessage,
  res: ServerResponse,
  headers: Record<string, string | string[]>,
  headTimeoutMs: number,
): Promise<void> {
  const out: OutgoingHttpHeaders = {
    ...headers,
    ':method': req.method ?? 'GET',
    ':path': req.url ?? '/',
    ':authority': (headers.host as string | undefined) ?? new URL(route.origin).host,
    ':scheme': 'http',
  };
  delete out.host;
  const body = hasBody(req) ? new ReplayBody(req, 0) : null;
  const attempt = attemptH2Replica(lease, out, body, nodeResponseSink(res), headTimeoutMs);
  res.once('close', () => {
    if (!res.writableFinished) attempt.cancel();
  });
  const outcome = await attempt.done;
  if (outcome.ok || outcome.error.kind === 'closed') return;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const timedOut = outcome.error.kind === 'timeout';
  sendFailure(
    res,
    new RinglbError(
      'ERR_UPSTREAM',
      seedMessage(
        `replica '${route.name}' ${timedOut ? 'did not answer in time' : `failed: ${outcome.error.message}`}`,
      ),
      timedOut ? 504 : 502,
    ),
  );
}
