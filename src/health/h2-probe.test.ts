import { describe, expect, it } from 'vitest';
import { grpcHealth } from './h2-probe.js';

const frame = (...payload: number[]) => Buffer.from([0, 0, 0, 0, payload.length, ...payload]);

describe('grpcHealth', () => {
  it('is healthy when SERVING, or when the server has no health service (UNIMPLEMENTED)', () => {
    expect(grpcHealth('0', frame(0x08, 0x01))).toBeNull();
    expect(grpcHealth('0', frame())).toBeNull();
    expect(grpcHealth('12', Buffer.alloc(0))).toBeNull();
  });

  it('is unhealthy when NOT_SERVING, on another status, or without one', () => {
    expect(grpcHealth('0', frame(0x08, 0x02))).toBe('serving status 2');
    expect(grpcHealth('14', Buffer.alloc(0))).toBe('grpc-status 14');
    expect(grpcHealth(undefined, Buffer.alloc(0))).toBe('grpc-status missing');
  });
});
