import { describe, expect, it } from 'vitest';
import {
  classify,
  fdsBackAfter,
  judgeFlat,
  slopeWindow,
  trend,
  type FaultWindow,
} from '../bench/soak-judge.js';
import type { Failure } from '../bench/soak-record.js';

const failure = (overrides: Partial<Failure>): Failure => ({
  stream: 'h1 GET',
  idempotent: true,
  start: 1000,
  end: 1100,
  stage: 'before-response',
  reason: 'HTTP 502',
  instance: 'a',
  ...overrides,
});
const fault = (kind: FaultWindow['kind'], at = 900, end = 1500, instance?: string): FaultWindow => ({
  kind,
  target: 'Server 1',
  at,
  end,
  ...(instance ? { instance } : {}),
});

describe('soak failure classification', () => {
  it('excuses a POST cut by a kill, a stop, a slow or a resetting replica', () => {
    for (const kind of ['SIGKILL', 'SIGSTOP', 'slow replica', 'reset replica'] as const)
      expect(classify(failure({ idempotent: false }), [fault(kind)]).expected).toBe(true);
  });
  it('never excuses an idempotent request that failed before its response', () => {
    expect(classify(failure({}), [fault('SIGKILL')]).expected).toBe(false);
    expect(classify(failure({}), []).expected).toBe(false);
  });
  it('never excuses a response that ended cleanly with the wrong body, whatever the fault', () => {
    for (const kind of ['SIGKILL', 'reset replica', 'leader instance killed'] as const) {
      const verdict = classify(failure({ stage: 'wrong-body', idempotent: false }), [
        fault(kind, 900, 1500, 'a'),
      ]);
      expect(verdict.expected).toBe(false);
      expect(verdict.why).toMatch(/wrong body/);
    }
  });
  it('excuses a GET cut mid-body only by a kill or a reset', () => {
    expect(classify(failure({ stage: 'mid-body' }), [fault('reset replica')]).expected).toBe(true);
    expect(classify(failure({ stage: 'mid-body' }), [fault('SIGSTOP')]).expected).toBe(false);
  });
  it('excuses nothing during /add, /rm, PUT /ring or a certificate rotation', () => {
    for (const kind of ['/add', '/rm', 'PUT /ring', 'certificate rotation'] as const)
      expect(classify(failure({ idempotent: false, stage: 'mid-body' }), [fault(kind)]).expected).toBe(false);
  });
  it('excuses requests to a killed instance, and only to it', () => {
    const killed = fault('leader instance killed', 900, 1500, 'a');
    expect(classify(failure({ instance: 'a' }), [killed]).expected).toBe(true);
    expect(classify(failure({ instance: 'b' }), [killed]).expected).toBe(false);
  });
  it('counts a fault until 2 s after its end, not longer', () => {
    expect(
      classify(failure({ idempotent: false, start: 3400, end: 3500 }), [fault('SIGKILL')]).expected,
    ).toBe(true);
    expect(
      classify(failure({ idempotent: false, start: 3600, end: 3700 }), [fault('SIGKILL')]).expected,
    ).toBe(false);
  });
});

describe('soak flatness', () => {
  it('fits the slope of a line exactly', () => {
    const t = trend(Array.from({ length: 10 }, (_, i) => [i, 3 + 2 * i] as const));
    expect(t.slope).toBeCloseTo(2);
    expect(t.noise).toBeCloseTo(0);
    expect(t.rise).toBeCloseTo(18);
  });
  it('calls a sawtooth flat and a steady climb of the same size a leak', () => {
    const saw = Array.from({ length: 480 }, (_, i) => [i / 60, 100 + (i % 30)] as const);
    expect(judgeFlat(saw, 4).flat).toBe(true);
    const climb = Array.from({ length: 480 }, (_, i) => [i / 60, 100 + i / 16] as const);
    expect(judgeFlat(climb, 4).flat).toBe(false);
  });
  it('fits the last 8 minutes of 10, the last 80 % of shorter runs', () => {
    expect(slopeWindow(600_000)).toBe(480_000);
    expect(slopeWindow(60_000)).toBe(48_000);
  });
  it('finds when the fds got back to the start count', () => {
    const samples = [
      { at: 100, fds: 90 },
      { at: 350, fds: 85 },
      { at: 600, fds: 80 },
    ];
    expect(fdsBackAfter(samples, 100, 80)).toBe(500);
    expect(fdsBackAfter(samples, 100, 70)).toBeUndefined();
  });
});
