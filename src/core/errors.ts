/**
 * Every error the balancer reports to a client carries a stable `code` (callers branch on it, never on
 * the message) and the HTTP status it maps to. Messages keep the seed's "<Error> ..." form because
 * the seed's users parse it.
 */
export type ErrorCode =
  | 'ERR_INVALID_BODY'
  | 'ERR_INVALID_QUERY'
  | 'ERR_HOSTNAMES_EXCEED_N'
  | 'ERR_UNKNOWN_HOSTNAME'
  | 'ERR_DUPLICATE_HOSTNAME'
  | 'ERR_DUPLICATE_BACKEND'
  | 'ERR_TOO_MANY_REMOVALS'
  | 'ERR_RING_FULL'
  | 'ERR_ENDPOINT_NOT_FOUND'
  | 'ERR_METHOD_NOT_ALLOWED'
  | 'ERR_BODY_TOO_LARGE'
  | 'ERR_NO_REPLICA'
  | 'ERR_UPSTREAM'
  | 'ERR_REPLICA_START'
  | 'ERR_REPLICA_REFUSED'
  | 'ERR_SHUTTING_DOWN'
  | 'ERR_INVALID_CONFIG'
  | 'ERR_UNAUTHORIZED'
  | 'ERR_STORE_UNAVAILABLE'
  | 'ERR_SHARED_SETTING';

export class RinglbError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message: string, status = 400) {
    super(message);
    this.name = 'RinglbError';
    this.code = code;
    this.status = status;
  }
}

/** The seed prefixes every failure message with "<Error> ". */
export function seedMessage(text: string): string {
  return `<Error> ${text}`;
}
