import { describe, expect, it } from 'vitest';
import {
  DURATION_BUCKETS,
  RequestStats,
  bucketIndex,
  quantile,
  sampleOf,
  windowStats,
} from './request-stats.js';

describe('request stats', () => {
  it('puts a duration in the first bucket whose bound is not below it', () => {
    expect(bucketIndex(0)).toBe(0);
    expect(bucketIndex(0.0005)).toBe(0);
    expect(bucketIndex(0.0006)).toBe(1);
    expect(bucketIndex(10)).toBe(DURATION_BUCKETS.length - 1);
    expect(bucketIndex(10.01)).toBe(DURATION_BUCKETS.length);
  });

  it('counts by replica and status', () => {
    const stats = new RequestStats();
    stats.record('a', 200, 0.002);
    stats.record('a', 200, 0.003);
    stats.record('a', 502, 0.5);
    stats.record('b', 200, 20);
    const a = stats.byReplica.get('a')!;
    expect([...a.codes]).toEqual([
      [200, 2],
      [502, 1],
    ]);
    expect(a.count).toBe(3);
    expect(a.sum).toBeCloseTo(0.505);
    expect(a.buckets[bucketIndex(0.002)]).toBe(1);
    expect(a.buckets[bucketIndex(0.003)]).toBe(1);
    expect(stats.byReplica.get('b')!.buckets[DURATION_BUCKETS.length]).toBe(1);
  });

  it('interpolates quantiles inside the bucket, like histogram_quantile', () => {
    const buckets = new Float64Array(DURATION_BUCKETS.length + 1);
    expect(quantile(buckets, 0.99)).toBeUndefined();
    buckets[bucketIndex(0.004)] = 100; // all in (0.0025, 0.005]
    expect(quantile(buckets, 0.5)).toBeCloseTo(0.00375);
    expect(quantile(buckets, 1)).toBeCloseTo(0.005);
    buckets[DURATION_BUCKETS.length] = 100; // half beyond 10 s
    expect(quantile(buckets, 0.99)).toBe(10);
    expect(quantile(buckets, 0.25)).toBeCloseTo(0.00375);
  });

  it('measures req/s and p99 between two samples', () => {
    const stats = new RequestStats();
    for (let i = 0; i < 10; i++) stats.record('a', 200, 1);
    const older = sampleOf(stats.byReplica.get('a'), 1_000);
    for (let i = 0; i < 40; i++) stats.record('a', 200, 0.0001);
    const newer = sampleOf(stats.byReplica.get('a'), 3_000);
    const { rps, p99 } = windowStats(older, newer);
    expect(rps).toBe(20);
    expect(p99).toBeCloseTo(0.0005 * 0.99);
    expect(windowStats(sampleOf(undefined, 0), sampleOf(undefined, 1000))).toEqual({
      rps: 0,
      p99: undefined,
    });
  });
});
