/**
 * The one retry policy of the data path: which failure allows another try on the next replica, for
 * which request. Every protocol's frontend asks `mayRetry`; none decides on its own. Pure.
 *
 * | what happened                               | GET HEAD OPTIONS TRACE PUT DELETE | POST PATCH (others) | gRPC call |
 * | ------------------------------------------- | --------------------------------- | ------------------- | --------- |
 * | refused: the replica could not be reached   | retry                             | retry               | retry     |
 * | gone: ejected or removed while it waited    | retry                             | retry               | retry     |
 * | reset/closed before any response header     | retry if the body is replayable   | no                  | retry if replayable |
 * | per-try timeout, no response header         | retry if the body is replayable   | no                  | no (its deadline runs) |
 * | malformed response (protocol error)         | no                                | no                  | no        |
 * | failure after the response head was passed  | no (the client's reply is cut)    | no                  | no        |
 * | the replica answered 5xx                    | no: passed on, counted for ejection | no                | no        |
 *
 * "Refused" and "gone" mean the request provably never reached a replica, so any method is safe to
 * send again. A body is replayable while it fits `PER_REQUEST_BUFFER_LIMIT_BYTES` (replay-buffer.ts,
 * named after Envoy's setting); past that, the bytes already sent are gone.
 */

export type FailureKind = 'refused' | 'gone' | 'reset' | 'timeout' | 'protocol';

export interface Failed {
  readonly kind: FailureKind;
  /** Part of the response (its head at least) already reached the client. */
  readonly responded: boolean;
}

export interface Retryable {
  readonly method: string;
  /** The request's body (none counts) can be sent again in full. */
  readonly bodyReplayable: boolean;
  /** A gRPC call: gRPC's transparent-retry rule applies instead of method idempotency. */
  readonly grpc: boolean;
}

/** RFC 9110 §9.2.2. TRACE is idempotent too; CONNECT and the unsafe methods are not. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'OPTIONS',
  'TRACE',
  'PUT',
  'DELETE',
]);

export function mayRetry(request: Retryable, failure: Failed): boolean {
  if (failure.responded) return false;
  switch (failure.kind) {
    case 'refused':
    case 'gone':
      return true;
    case 'reset':
      return request.bodyReplayable && (request.grpc || IDEMPOTENT_METHODS.has(request.method));
    case 'timeout':
      return request.bodyReplayable && !request.grpc && IDEMPOTENT_METHODS.has(request.method);
    case 'protocol':
      return false;
  }
}

/** The status ringlb answers with when it gives up after `failure`. */
export function givenUpStatus(kind: FailureKind): 502 | 504 {
  return kind === 'timeout' ? 504 : 502;
}
