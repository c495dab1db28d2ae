import type { ClientHttp2Stream, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { http2 } from './lazy-protocols.js';
import { UpstreamError } from '../proxy/fast/exchange.js';
import { failureKindOf } from '../proxy/upstream-errors.js';
import { HOP_BY_HOP_FIELDS } from '../proxy/headers.js';
import type { UpstreamSession } from './h2-upstreams.js';
import { writableTarget, type BodyTarget, type ReplayBody } from './h2-replay-body.js';

/**
 * Where a replica's response goes: an HTTP/2 client stream or an HTTP/1.1 client's response. Each
 * adapter converts once and keeps its own flow control.
 */
export interface ResponseSink {
  /** The response head; `endStream` when nothing follows (a trailers-only gRPC answer, a 204). */
  head(status: number, headers: OutgoingHttpHeaders, endStream: boolean): void;
  /** False when the client cannot take more now; `onDrain` is then called once it can. */
  data(chunk: Buffer): boolean;
  onDrain(resume: () => void): void;
  /** The end of the response, with the replica's trailers when it sent any. */
  end(trailers: OutgoingHttpHeaders | null): void;
}

export type AttemptOutcome =
  { readonly ok: true; readonly status: number } | { readonly ok: false; readonly error: UpstreamError };

export interface H2Attempt {
  readonly done: Promise<AttemptOutcome>;
  /** The client went away or the deadline passed: cancel the replica's stream (the outcome is dropped). */
  cancel(): void;
}

const HOP_BY_HOP = new Set([...HOP_BY_HOP_FIELDS, 'transfer-encoding']);

/**
 * A replica's HTTP/2 header block as the client is sent it, in one pass: pseudo-headers and
 * hop-by-hop fields dropped. (HTTP/2 has no Connection header to name others: nghttp2 refuses a
 * response that carries one, RFC 9113 §8.2.2.)
 */
function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (name.charCodeAt(0) === 0x3a || HOP_BY_HOP.has(name)) continue;
    const value = headers[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/**
 * One attempt of a request on an h2c replica: headers, body and trailers passed on as they come,
 * flow control kept both ways (a client that reads slowly pauses the replica's stream). The outcome
 * says whether the replica could have seen the request, so that the caller can decide on another try:
 * a stream the replica refused (REFUSED_STREAM) or left unprocessed by GOAWAY was never seen.
 * `headTimeoutMs` (0 = none) bounds the wait for the response head.
 */
export function attemptH2Replica(
  lease: UpstreamSession,
  headers: OutgoingHttpHeaders,
  body: ReplayBody | null,
  sink: ResponseSink,
  headTimeoutMs: number,
): H2Attempt {
  let upstream: ClientHttp2Stream;
  try {
    // A body's end is sent as an empty trailer section: a stream that ends with END_STREAM right
    // before the RST_STREAM that cancels it (Node's close() ends the writable side first) reads to
    // the replica as a whole request with a cut body. Waiting for trailers, a cancel is only a reset.
    upstream = lease.session.request(headers, { endStream: body === null, waitForTrailers: body !== null });
  } catch (error) {
    lease.release();
    const failure = new UpstreamError('connect', (error as Error).message, false, false);
    return { done: Promise.resolve({ ok: false, error: failure }), cancel() {} };
  }
  let cancelled = false;
  let responded = false;
  let status = 0;
  let trailers: OutgoingHttpHeaders | null = null;
  let timer: NodeJS.Timeout | undefined;
  let settle!: (outcome: AttemptOutcome) => void;
  const done = new Promise<AttemptOutcome>((resolve) => (settle = resolve));
  let settled = false;
  const finish = (outcome: AttemptOutcome) => {
    if (settled) return;
    settled = true;
    if (timer) clearTimeout(timer);
    body?.detach();
    lease.release();
    settle(outcome);
  };
  const failure = (kind: 'connect' | 'reset' | 'timeout' | 'protocol', message: string, sent: boolean) =>
    finish({ ok: false, error: new UpstreamError(kind, message, sent, responded) });

  // The per-try timeout is how long a try may go without progress before the response head, as on
  // the HTTP/1.1 fast path (its socket's idle timer): every chunk of body the replica takes starts
  // it again, so a large upload at the replica's own pace is not cut for the time it takes, while
  // an upload that stalls (a client that stops sending, a replica that stops reading) is, after
  // the same time as a replica that does not answer.
  const arm = () => {
    if (headTimeoutMs <= 0 || responded || settled) return;
    if (timer) {
      timer.refresh();
      return;
    }
    timer = setTimeout(() => {
      if (responded || settled) return;
      failure('timeout', 'the replica did not answer in time', true);
      upstream.close(http2().constants.NGHTTP2_CANCEL);
    }, headTimeoutMs);
  };
  arm();
  if (body !== null) {
    upstream.once('finish', arm);
    upstream.once('wantTrailers', () => {
      if (!cancelled && !settled) upstream.sendTrailers({});
    });
  }
  upstream.on('response', (head, flags) => {
    if (cancelled || settled) return;
    responded = true;
    if (timer) clearTimeout(timer);
    status = Number(head[':status'] ?? 502);
    const out = endToEnd(head);
    sink.head(status, out, (flags & http2().constants.NGHTTP2_FLAG_END_STREAM) !== 0);
  });
  upstream.on('data', (chunk: Buffer) => {
    if (cancelled || settled) return;
    if (!sink.data(chunk)) {
      upstream.pause();
      sink.onDrain(() => upstream.resume());
    }
  });
  upstream.on('trailers', (tail) => {
    trailers = endToEnd(tail);
  });
  upstream.on('end', () => {
    if (cancelled || settled || !responded) return;
    // A stream the replica reset ends too (Node ends its readable side): that is no response's end.
    if (upstream.rstCode) return closed(`code ${upstream.rstCode}`);
    sink.end(trailers);
    finish({ ok: true, status });
  });
  upstream.on('error', (error: Error & { code?: string }) => {
    if (cancelled || settled) return;
    const code = error.code ?? '';
    if (!responded && failureKindOf(code) === 'refused') failure('connect', code, false);
    else closed(code || error.message);
  });
  const closed = (reason: string) => {
    if (cancelled || settled) return;
    const rst = upstream.rstCode ?? 0;
    // A stream the replica refused, or one above its GOAWAY's last stream id, was never processed.
    const unseen =
      !responded && (rst === http2().constants.NGHTTP2_REFUSED_STREAM || lease.unprocessed(upstream.id));
    const what = rst ? `reset the stream (code ${rst})` : `closed the stream (${reason})`;
    failure(unseen ? 'connect' : 'reset', `the replica ${what}`, !unseen);
  };
  upstream.on('close', () => {
    if (settled || cancelled) return;
    // 'end' comes before 'close' on a clean finish; a close without it is a broken stream.
    if (responded && upstream.readableEnded) return;
    closed('no end');
  });
  if (body) body.attach(progressing(writableTarget(upstream), arm));
  return {
    done,
    cancel() {
      if (settled) return;
      cancelled = true;
      finish({ ok: false, error: new UpstreamError('closed', 'cancelled', true, responded) });
      if (!upstream.closed) upstream.close(http2().constants.NGHTTP2_CANCEL);
    },
  };
}

/** `target`, with `progress` called for every chunk written to it (and when it drains). */
function progressing(target: BodyTarget, progress: () => void): BodyTarget {
  return {
    write(chunk) {
      progress();
      return target.write(chunk);
    },
    onceDrained: (drained) =>
      target.onceDrained(() => {
        progress();
        drained();
      }),
    end: () => target.end(),
  };
}
