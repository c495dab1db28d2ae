/**
 * What `npm run bench:hostile` sends and how it reads wrk; pure, so test/bench-hostile.test.ts can
 * check it against the strict parser.
 */

/**
 * Requests the balancer must refuse without forwarding: every smuggling shape from the edge issue,
 * plus malformed heads. Each targets /malformed so the backend can count any that slip through.
 */
export const MALFORMED: readonly string[] = [
  'POST /malformed/cl-te HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  'POST /malformed/cl-list HTTP/1.1\r\nHost: t\r\nContent-Length: 5, 6\r\n\r\nhello!',
  'POST /malformed/cl-twice HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!',
  'POST /malformed/te-gzip HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n',
  'POST /malformed/chunk-size HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n',
  'GET /malformed/space-colon HTTP/1.1\r\nHost: t\r\nX-A : 1\r\n\r\n',
  'GET /malformed/fold HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n  folded\r\n\r\n',
  'GET /malformed/nul HTTP/1.1\r\nHost: t\r\nX-A: a\u0000b\r\n\r\n',
  'GET /malformed/ctl-name HTTP/1.1\r\nHost: t\r\nX\u0001A: b\r\n\r\n',
  'GET /malformed/bare-lf HTTP/1.1\nHost: t\n\n',
  'GET /malformed/no-host HTTP/1.1\r\nX-A: 1\r\n\r\n',
  'GET /malformed/version HTTP/1.2\r\nHost: t\r\n\r\n',
  `GET /malformed/big HTTP/1.1\r\nHost: t\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
];

export interface LoadResult {
  readonly requestsPerSecond: number;
  /** 99th percentile latency in milliseconds. */
  readonly p99Ms: number;
  readonly errors: number;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

/** Reads req/s, the 99 % latency and error counts from `wrk --latency` text output. */
export function parseWrk(output: string): LoadResult {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(output);
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(output);
  if (!rps || !p99) throw new Error(`unexpected wrk output:\n${output.slice(-1500)}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  const errors =
    (socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0) + (non2xx ? Number(non2xx[1]) : 0);
  return { requestsPerSecond: Number(rps[1]), p99Ms: Number(p99[1]) * UNIT_MS[p99[2]!]!, errors };
}
