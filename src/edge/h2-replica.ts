import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { constants } from 'node:http2';
import type { Readable } from 'node:stream';
import type { Failure } from '../core/failure.js';
import type { Route } from '../membership/routing-table.js';
import { downstreamResponseHeaders } from '../proxy/headers.js';
import type { FailureKind } from '../proxy/retry-policy.js';
import type { RoutedRequest } from '../proxy/router.js';
import { failureKindOf } from '../proxy/upstream-errors.js';
import type { H2Upstreams } from './h2-upstreams.js';

/** What is sent to the replica: end-to-end headers (Host included) and the body as it arrives. */
export interface H2Outgoing {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string | string[]>;
  /** null: the request has no body (its HEADERS frame ends the stream). */
  readonly body: Readable | null;
}

/** The client's response, HTTP/1.1 (`http.ServerResponse`) or HTTP/2 (`Http2ServerResponse`). */
export interface Downstream {
  writeHead(status: number, headers: OutgoingHttpHeaders): unknown;
  write(chunk: Buffer): boolean;
  addTrailers(trailers: OutgoingHttpHeaders): void;
  end(): unknown;
  readonly writableEnded: boolean;
  on(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
}

function withoutPseudo(headers: IncomingHttpHeaders): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {};
  for (const [name, value] of Object.entries(headers)) if (name[0] !== ':') out[name] = value;
  return out;
}

/** How a request to an HTTP/2 replica ended, for the router to decide on. */
export type H2Outcome =
  | { readonly result: 'done' }
  | { readonly result: 'client-gone' }
  /** The router replaced the replica's answer (the seed's 404 rule): send this instead. */
  | { readonly result: 'replaced'; readonly failure: Failure }
  | {
      readonly result: 'failed';
      readonly kind: FailureKind;
      readonly responded: boolean;
      readonly message: string;
    };

/** RST_STREAM REFUSED_STREAM: the replica did not process the stream (RFC 9113 §8.7), safe to retry. */
const REFUSED_STREAM = 0x7;

/**
 * One try of a request to a replica over HTTP/2: headers, body and trailers passed on as they come,
 * a cancelled client cancelling the replica's stream. The response head goes through the router
 * (passive health, the seed's 404 rule) before anything reaches the client; failures are returned,
 * not answered, so the router's one policy decides whether to try the next replica.
 */
export function toH2Replica(
  h2: H2Upstreams,
  routed: RoutedRequest,
  route: Route,
  outgoing: H2Outgoing,
  res: Downstream,
): Promise<H2Outcome> {
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
    upstream = h2.session(route.origin).request(headers, { endStream: outgoing.body === null });
  } catch (error) {
    const code = (error as { code?: string }).code;
    return Promise.resolve({
      result: 'failed',
      kind: failureKindOf(code),
      responded: false,
      message: code ?? (error as Error).message,
    });
  }
  return new Promise<H2Outcome>((resolve) => {
    let settled = false;
    let responded = false;
    const settle = (outcome: H2Outcome) => {
      if (settled) return;
      settled = true;
      res.off('drain', onDrain);
      res.off('close', onClientClose);
      resolve(outcome);
    };
    const onDrain = () => upstream.resume();
    const onClientClose = () => {
      if (!upstream.closed) upstream.close(constants.NGHTTP2_CANCEL);
      settle({ result: 'client-gone' });
    };
    upstream.on('response', (head, flags) => {
      const status = Number(head[':status'] ?? 502);
      const replaced = routed.answered(status);
      if (replaced !== undefined) {
        upstream.close(constants.NGHTTP2_CANCEL);
        settle({ result: 'replaced', failure: replaced });
        return;
      }
      const out = downstreamResponseHeaders(withoutPseudo(head)) as OutgoingHttpHeaders;
      // A trailers-only answer (gRPC errors) ends with its headers: its status goes in the trailers.
      const trailersOnly =
        (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0 && out['grpc-status'] !== undefined;
      if (trailersOnly) {
        res.addTrailers({ 'grpc-status': out['grpc-status'], 'grpc-message': out['grpc-message'] ?? '' });
        delete out['grpc-status'];
        delete out['grpc-message'];
      }
      responded = true;
      res.writeHead(status, out);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!settled && !res.write(chunk)) upstream.pause();
    });
    res.on('drain', onDrain);
    upstream.on('trailers', (trailers) => {
      if (!settled) res.addTrailers(downstreamResponseHeaders(withoutPseudo(trailers)));
    });
    upstream.on('end', () => {
      if (settled) return;
      if (!responded) {
        // The stream ended with no response head: the session went away under it (nothing was
        // answered, so this is a reset before the response, not an empty 200).
        settle({
          result: 'failed',
          kind: 'reset',
          responded: false,
          message: 'the replica closed the stream unanswered',
        });
        return;
      }
      res.end();
      settle({ result: 'done' });
    });
    upstream.on('error', (error: Error & { code?: string }) => {
      const refused = upstream.rstCode === REFUSED_STREAM && !responded;
      settle({
        result: 'failed',
        kind: refused ? 'refused' : failureKindOf(error.code),
        responded,
        message: error.code ?? error.message,
      });
    });
    upstream.on('close', () => {
      if (res.writableEnded) return settle({ result: 'done' });
      settle({
        result: 'failed',
        kind: upstream.rstCode === REFUSED_STREAM && !responded ? 'refused' : 'reset',
        responded,
        message: `the replica reset the stream (code ${upstream.rstCode})`,
      });
    });
    res.on('close', onClientClose);
    if (outgoing.body !== null) outgoing.body.pipe(upstream);
  });
}

/** How a frontend answers its client: a failure of ringlb's own, or cutting a reply under way. */
export interface Answer {
  fail(f: Failure): void;
  cut(): void;
  /** The status the client got so far. */
  status(): number;
}

/**
 * Applies the router's policy to an outcome of `toH2Replica`. True: pick the next replica and try
 * again; false: the request is over (answered, counted and logged).
 */
export function settleH2Outcome(outcome: H2Outcome, routed: RoutedRequest, answer: Answer): boolean {
  switch (outcome.result) {
    case 'done':
      routed.finish(answer.status());
      return false;
    case 'client-gone':
      routed.finish(499);
      return false;
    case 'replaced':
      answer.fail(outcome.failure);
      routed.finish(outcome.failure.status);
      return false;
    case 'failed': {
      if (routed.failed(outcome.kind, outcome.responded, outcome.message)) return true;
      if (outcome.responded) {
        answer.cut();
        routed.finish(answer.status());
        return false;
      }
      const f = routed.gaveUp();
      answer.fail(f);
      routed.finish(f.status);
      return false;
    }
  }
}
