import type { UpstreamFailure } from './fast/exchange.js';
import type { FailureKind } from './retry-policy.js';

const REFUSED = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EADDRNOTAVAIL',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_HTTP2_GOAWAY_SESSION',
  'ERR_HTTP2_INVALID_SESSION',
]);
const TIMEOUT = new Set(['ETIMEDOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
const RESET = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'ERR_HTTP2_STREAM_ERROR',
  'ERR_HTTP2_STREAM_CANCEL',
  'ERR_HTTP2_SESSION_ERROR',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/**
 * What a Node or undici error code from a request to a replica means for the retry policy. Codes
 * that say the connection was never made are `refused` (the request never left); a GOAWAY before the
 * stream was opened is too. Anything unknown is a `protocol` failure, which is never retried.
 */
export function failureKindOf(code: string | undefined): FailureKind {
  if (code === undefined) return 'reset';
  if (REFUSED.has(code)) return 'refused';
  if (TIMEOUT.has(code)) return 'timeout';
  if (RESET.has(code)) return 'reset';
  return 'protocol';
}

/** How the upstream connections' own failure kinds (fast pools, h2c sessions) read in the retry policy. */
export const UPSTREAM_FAILURE_KINDS: Readonly<Record<UpstreamFailure, FailureKind>> = {
  connect: 'refused',
  gone: 'gone',
  reset: 'reset',
  closed: 'reset',
  timeout: 'timeout',
  protocol: 'protocol',
};
