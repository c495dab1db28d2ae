/** gRPC status codes ringlb answers with (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
export const GRPC_STATUS = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
  PERMISSION_DENIED: 7,
} as const;

const UNITS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000001 };

/**
 * The deadline a `grpc-timeout` header gives, in ms from now: at most 8 digits and a unit
 * (H, M, S, m, u, n), as the gRPC over HTTP/2 spec says. A malformed value is ignored (undefined),
 * as grpc-go and grpc-js do.
 */
export function grpcTimeoutMs(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * UNITS[match[2]!]!;
}

/** The `grpc-timeout` to send on: what is left of the deadline, in whole ms (at least 1). */
export function grpcTimeoutHeader(remainingMs: number): string {
  return `${Math.max(1, Math.ceil(remainingMs))}m`;
}

/**
 * The gRPC status for an HTTP status ringlb itself answers with, after the gRPC spec's
 * http-grpc-status-mapping (a gateway's 502/503/504 are UNAVAILABLE: the client may try again).
 */
export function grpcStatusOf(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return GRPC_STATUS.INTERNAL;
    case 401:
      return GRPC_STATUS.UNAUTHENTICATED;
    case 403:
      return GRPC_STATUS.PERMISSION_DENIED;
    case 404:
      return GRPC_STATUS.UNIMPLEMENTED;
    case 413:
    case 431:
      return GRPC_STATUS.RESOURCE_EXHAUSTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GRPC_STATUS.UNAVAILABLE;
    default:
      return GRPC_STATUS.UNKNOWN;
  }
}

/** grpc-message is percent-encoded UTF-8 (RFC 3986 unreserved and printable ASCII except % kept). */
export function grpcMessage(text: string): string {
  return encodeURIComponent(text).replace(/%20/g, ' ');
}
