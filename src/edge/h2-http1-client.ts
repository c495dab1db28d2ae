import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { sendNodeFailure, type Failure } from '../core/failure.js';
import type { Route } from '../membership/routing-table.js';
import type { RoutedRequest } from '../proxy/router.js';
import { attemptH2Replica, type ResponseSink } from './h2-replica.js';
import { UPSTREAM_FAILURE_KINDS } from '../proxy/upstream-errors.js';
import { ReplayBody } from './h2-replay-body.js';
import type { H2Upstreams } from './h2-upstreams.js';

/** What an HTTP/1.1 client's request to an h2c replica is sent as (from the general path). */
export interface Http1Outgoing {
  readonly method: string;
  readonly path: string;
  /** End-to-end headers, Host included. */
  readonly headers: Record<string, string | string[]>;
  readonly body: IncomingMessage | null;
}

/** Request bodies kept across the tries of one request (the same IncomingMessage each time). */
const bodies = new WeakMap<IncomingMessage, ReplayBody>();

/** An HTTP/1.1 client's response as a replica's HTTP/2 response is written to it. */
class NodeResponseSink implements ResponseSink {
  replaced: Failure | undefined;
  status = 0;
  readonly #res: ServerResponse;
  readonly #routed: RoutedRequest;

  constructor(res: ServerResponse, routed: RoutedRequest) {
    this.#res = res;
    this.#routed = routed;
  }

  head(status: number, headers: OutgoingHttpHeaders, endStream: boolean): void {
    this.status = status;
    this.replaced = this.#routed.answered(status);
    if (this.replaced !== undefined) return;
    this.#res.writeHead(status, headers);
    if (endStream) this.#res.end();
  }

  data(chunk: Buffer): boolean {
    return this.replaced !== undefined || this.#res.write(chunk);
  }

  onDrain(resume: () => void): void {
    this.#res.once('drain', resume);
  }

  end(trailers: OutgoingHttpHeaders | null): void {
    const res = this.#res;
    if (this.replaced !== undefined || res.writableEnded) return;
    if (trailers && Object.keys(trailers).length > 0) res.addTrailers(trailers as Record<string, string>);
    res.end();
  }
}

/**
 * One try of an HTTP/1.1 client's request on a replica that speaks only HTTP/2. Resolves true when
 * the router says to try the next replica; otherwise the request is over (answered and counted).
 */
export async function toH2ReplicaFromHttp1(
  h2: H2Upstreams,
  routed: RoutedRequest,
  route: Route,
  outgoing: Http1Outgoing,
  res: ServerResponse,
  headTimeoutMs: number,
): Promise<boolean> {
  const headers: OutgoingHttpHeaders = {
    ...outgoing.headers,
    ':method': outgoing.method,
    ':path': outgoing.path,
    ':authority': (outgoing.headers.host as string | undefined) ?? new URL(route.origin).host,
    ':scheme': 'http',
  };
  delete headers.host;
  let body: ReplayBody | null = null;
  if (outgoing.body !== null) {
    body = bodies.get(outgoing.body) ?? new ReplayBody(outgoing.body);
    bodies.set(outgoing.body, body);
  }
  const sink = new NodeResponseSink(res, routed);
  const attempt = attemptH2Replica(h2.acquire(route.origin), headers, body, sink, headTimeoutMs);
  const onClose = () => {
    if (!res.writableFinished) attempt.cancel();
  };
  res.once('close', onClose);
  const outcome = await attempt.done;
  res.off('close', onClose);
  if (outcome.ok) {
    body?.discard();
    if (sink.replaced !== undefined) {
      sendNodeFailure(res, sink.replaced);
      routed.finish(sink.replaced.status);
    } else routed.finish(outcome.status);
    return false;
  }
  const { error } = outcome;
  if (error.kind === 'closed') {
    // The client went away.
    routed.finish(499);
    return false;
  }
  if (body && !body.replayable) routed.bodyReplayable = false;
  const responded = error.responded || res.headersSent;
  if (routed.failed(UPSTREAM_FAILURE_KINDS[error.kind], responded, error.message)) return true;
  body?.discard();
  if (responded) {
    res.destroy();
    routed.finish(sink.status);
    return false;
  }
  const f = routed.gaveUp();
  sendNodeFailure(res, f);
  routed.finish(f.status);
  return false;
}
