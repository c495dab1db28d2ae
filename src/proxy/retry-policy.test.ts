import { describe, expect, it } from 'vitest';
import { IDEMPOTENT_METHODS, givenUpStatus, mayRetry, type FailureKind } from './retry-policy.js';

const KINDS: readonly FailureKind[] = ['refused', 'gone', 'reset', 'timeout', 'protocol'];
const METHODS = ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE', 'POST', 'PATCH', 'CONNECT', 'FOO'];

/** The table in retry-policy.ts, written out again case by case. */
function expected(method: string, kind: FailureKind, replayable: boolean, grpc: boolean, responded: boolean) {
  if (responded) return false;
  if (kind === 'refused' || kind === 'gone') return true;
  if (kind === 'protocol') return false;
  const idempotent = ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'].includes(method);
  if (kind === 'reset') return replayable && (grpc || idempotent);
  return replayable && !grpc && idempotent; // timeout
}

describe('the retry policy', () => {
  it('matches its table for every method, failure, body and protocol', () => {
    let cases = 0;
    for (const method of METHODS)
      for (const kind of KINDS)
        for (const bodyReplayable of [true, false])
          for (const grpc of [true, false])
            for (const responded of [true, false]) {
              const got = mayRetry({ method, bodyReplayable, grpc }, { kind, responded });
              expect(
                got,
                `${method} ${kind} replayable=${bodyReplayable} grpc=${grpc} responded=${responded}`,
              ).toBe(expected(method, kind, bodyReplayable, grpc, responded));
              cases++;
            }
    expect(cases).toBe(METHODS.length * KINDS.length * 8);
  });

  it('holds TRACE idempotent and POST, PATCH and CONNECT not (RFC 9110 §9.2.2)', () => {
    expect([...IDEMPOTENT_METHODS].sort()).toEqual(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PUT', 'TRACE']);
  });

  it('never retries once part of the response reached the client, even a refusal', () => {
    for (const kind of KINDS) {
      expect(mayRetry({ method: 'GET', bodyReplayable: true, grpc: false }, { kind, responded: true })).toBe(
        false,
      );
    }
  });

  it('answers 504 after a timeout and 502 after anything else', () => {
    expect(givenUpStatus('timeout')).toBe(504);
    for (const kind of KINDS.filter((k) => k !== 'timeout')) expect(givenUpStatus(kind)).toBe(502);
  });
});
