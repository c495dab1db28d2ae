import { ChunkedScanner } from '../../src/proxy/http1/chunked-scanner.js';
import { hasBareLineBreak, judgedEnd } from '../../src/proxy/http1/header-lines.js';
import { parseRequestHead, type RequestHead } from '../../src/proxy/http1/request-head.js';

/** What a strict HTTP/1.1 server makes of the bytes of one connection. */
export interface StrictReading {
  /** Requests whose head a strict parser accepts, in order (the last one's body may be incomplete). */
  readonly requests: RequestHead[];
  /** Why the parser stopped accepting (a refused head or body framing); undefined if it never did. */
  readonly refused: string | undefined;
  /** Whether the stream ends inside a head or a body (more bytes could still come). */
  readonly incomplete: boolean;
  /** How many of `requests` arrived whole, body included. */
  readonly complete: number;
}

const CRLF2 = Buffer.from('\r\n\r\n');

function done(
  requests: RequestHead[],
  refused: string | undefined,
  incomplete: boolean,
  partial = 0,
): StrictReading {
  return { requests, refused, incomplete, complete: requests.length - partial };
}

/**
 * Reads a connection's bytes the way the balancer's strict front does: empty lines before a request
 * line are skipped, each head is parsed with `parseRequestHead`, and each body is framed by its
 * Content-Length or chunked encoding. Reading stops at the first refusal (nothing after it counts),
 * and after a request that closes the connection or upgrades it.
 */
export function readStrictly(bytes: Buffer, maxHeadBytes = 16 * 1024, maxHeaders = 128): StrictReading {
  const requests: RequestHead[] = [];
  let at = 0;
  for (;;) {
    while (at + 1 < bytes.length && bytes[at] === 0x0d && bytes[at + 1] === 0x0a) at += 2;
    if (at >= bytes.length) return done(requests, undefined, false);
    const end = bytes.indexOf(CRLF2, at);
    if (end < 0) {
      if (bytes.length - at > maxHeadBytes) return done(requests, 'head too large', false);
      // As the front does: a bare LF refuses a head before it is complete (a CR as the last byte may still get its LF).
      if (hasBareLineBreak(bytes.toString('latin1', at, judgedEnd(bytes)))) {
        return done(requests, 'line breaks must be CRLF', false);
      }
      return done(requests, undefined, true);
    }
    if (end - at > maxHeadBytes) return done(requests, 'head too large', false);
    let head: RequestHead;
    try {
      head = parseRequestHead(bytes.toString('latin1', at, end), maxHeaders);
    } catch (error) {
      return done(requests, (error as Error).message, false);
    }
    requests.push(head);
    at = end + 4;
    if (head.chunked) {
      const scanner = new ChunkedScanner(400);
      let bodyEnd: number;
      try {
        bodyEnd = scanner.scan(bytes, at, bytes.length);
      } catch (error) {
        return done(requests, (error as Error).message, false);
      }
      if (bodyEnd < 0) return done(requests, undefined, true, 1);
      at = bodyEnd;
    } else if (head.contentLength > 0) {
      if (bytes.length - at < head.contentLength) return done(requests, undefined, true, 1);
      at += head.contentLength;
    }
    // After a request that closes the connection or switches protocols, nothing is read as HTTP/1.1.
    if (!head.keepAlive || head.upgrade) return done(requests, undefined, false);
  }
}
