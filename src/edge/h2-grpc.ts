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
