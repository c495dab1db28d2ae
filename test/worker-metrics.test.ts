import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ClassicRing } from '../src/ring/classic/classic-ring.js';
import { parseMetrics } from './prometheus-text.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/metrics-workers.mjs', import.meta.url));

describe('/metrics across node:cluster workers', () => {
  it('sums traffic over the workers and reports membership once', () => {
    const run = spawnSync(process.execPath, [FIXTURE], { encoding: 'utf8', timeout: 20_000 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const metrics = parseMetrics(run.stdout);
    expect(metrics.get('ringlb_requests_total{code="200",replica="Server 1"}')).toBe(30);
    expect(metrics.get('ringlb_request_duration_seconds_count{replica="Server 1"}')).toBe(30);
    expect(metrics.get('ringlb_request_duration_seconds_bucket{le="0.0025",replica="Server 1"}')).toBe(30);
    expect(metrics.get('ringlb_retries_total{}')).toBe(3);
    expect(metrics.get('ringlb_replicas{state="healthy"}')).toBe(3);
    const shares = new ClassicRing(
      [1, 2, 3].map((number) => ({ number, name: `Server ${number}` })),
    ).shares();
    expect(metrics.get('ringlb_replica_key_share{replica="Server 2"}')).toBe(shares[1]);
    expect(metrics.has('process_cpu_user_seconds_total{}')).toBe(true);
  });
});
