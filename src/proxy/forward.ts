import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RinglbError, seedMessage } from '../core/errors.js';
import { failure, sendNodeFailure, type Failure } from '../core/failure.js';
import type { Route } from '../membership/routing-table.js';
import { downstreamResponseHeaders, RINGLB_ONLY_FIELDS, upstreamRequestHeaders } from './headers.js';
import { viewOf } from './request-view.js';
import { methodRefusal, type RoutedRequest, type Router } from './router.js';
import { failureKindOf } from './upstream-errors.js';
import type { Upstreams } from './upstreams.js';

export interface ForwardOptions {
  readonly router: Router;
  readonly upstreams: Upstreams;
  /** Largest request body passed on; 0 for no limit. */
  readonly maxBodySize: number;
  /** Keep the client's own X-Forwarded-For (appending to it) instead of replacing it. */
  readonly trustForwarded: boolean;
  /**
   * One try over HTTP/2 if the replica is spoken to so (undefined when it is not): true means the
   * router wants another try.
   */
  readonly viaH2?: (
    routed: RoutedRequest,
    route: Route,
    outgoing: {
      method: string;
      path: string;
      headers: Record<string, string | string[]>;
      body: IncomingMessage | null;
    },
    res: ServerResponse,
  ) => Promise<boolean> | undefined;
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

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Sends one client request that node:http parsed to the replica the router picks, streaming both
 * ways; the router decides tries, counts and logs it. This is the path of requests the fast front
 * hands over (see `FrontConnection`), and of replicas spoken to over HTTP/2.
 */
export async function forward(
  req: IncomingMessage,
  res: ServerResponse,
  options: ForwardOptions,
): Promise<void> {
  const view = viewOf(req.method ?? 'GET', req.url ?? '/', req.headers, req.socket.remoteAddress);
  const withBody = hasBody(req);
  // A body read from node:http is streamed once and not kept, so it is never sent twice.
  const routed = options.router.begin(view, { protocol: 0, grpc: false, bodyReplayable: !withBody });
  const reply = (f: Failure) => {
    sendNodeFailure(res, f);
    routed.finish(f.status);
  };
  const refusal = methodRefusal(view.method);
  if (refusal !== undefined) {
    res.shouldKeepAlive = false;
    return reply(refusal);
  }
  if (options.maxBodySize > 0 && Number(req.headers['content-length'] ?? 0) > options.maxBodySize) {
    req.resume();
    res.shouldKeepAlive = false;
    reply(failure(413, `the body is larger than ${options.maxBodySize} bytes`));
    return;
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

  for (;;) {
    const route = routed.pick();
    if (route === undefined) return reply(routed.noReplica());
    const hints = routed.hintHeaders();
    if (hints) {
      for (const name of RINGLB_ONLY_FIELDS) delete headers[name];
      Object.assign(headers, hints);
    }
    const outgoing = { method: req.method ?? 'GET', path, headers, body: withBody ? req : null };
    const viaH2 = options.viaH2?.(routed, route, outgoing, res);
    if (viaH2) {
      if (await viaH2) continue;
      return;
    }
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
      if (aborted.signal.aborted) return routed.finish(499);
      if (error instanceof RinglbError) {
        res.shouldKeepAlive = false;
        return reply(failure(error.status, error.message.replace(/^<Error> /, '')));
      }
      const code = (error as { code?: string }).code;
      if (routed.failed(failureKindOf(code), false, code ?? (error as Error).message)) continue;
      return reply(routed.gaveUp());
    }
    const replaced = routed.answered(response.statusCode);
    if (replaced !== undefined) {
      await response.body.dump();
      return reply(replaced);
    }
    res.writeHead(response.statusCode, downstreamResponseHeaders(response.headers));
    try {
      await pipeline(response.body, res);
    } catch (error) {
      // The client went away or the replica broke off mid-body: pipeline has closed both sides.
      if (!aborted.signal.aborted) {
        const code = (error as { code?: string }).code;
        routed.failed(failureKindOf(code), true, code ?? (error as Error).message);
      }
    }
    routed.finish(aborted.signal.aborted ? 499 : response.statusCode);
    return;
  }
}
