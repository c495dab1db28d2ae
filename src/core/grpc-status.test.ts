import { describe, expect, it } from 'vitest';
import { grpcStatusOf, httpStatusOfGrpc } from './failure.js';

describe('gRPC statuses and HTTP statuses', () => {
  it('counts only the server failures among gRPC statuses against a replica (as Envoy maps them)', () => {
    const failing = new Map([
      [2, 500],
      [4, 504],
      [13, 500],
      [14, 503],
      [15, 500],
    ]);
    for (let code = 0; code <= 16; code++)
      expect(httpStatusOfGrpc(code), `code ${code}`).toBe(failing.get(code) ?? 200);
    expect(httpStatusOfGrpc(Number('not a number'))).toBe(200);
  });

  it('gives ringlb’s own 502, 503 and 504 statuses that count against a replica again', () => {
    for (const status of [502, 503, 504])
      expect(httpStatusOfGrpc(grpcStatusOf(status))).toBeGreaterThanOrEqual(500);
    for (const status of [401, 403, 404, 413, 429, 431])
      expect(httpStatusOfGrpc(grpcStatusOf(status))).toBe(200);
  });
});
