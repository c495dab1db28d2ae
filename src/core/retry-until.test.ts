import { describe, expect, it } from 'vitest';
import { retryUntil } from './retry-until.js';

const refused = new Error('etcdserver: no leader');
const broken = new Error('permission denied');
const isRefused = (error: unknown) => error === refused;

/** An operation that fails with `failures` in turn, then answers 'ok'; counts its tries. */
function failing(...failures: Error[]) {
  const op = async () => {
    op.tries++;
    const failure = failures.shift();
    if (failure) throw failure;
    return 'ok';
  };
  op.tries = 0;
  return op;
}

describe('retryUntil', () => {
  it('answers at once when the first try succeeds', async () => {
    const op = failing();
    expect(await retryUntil(op, isRefused, Date.now() + 1_000, 10)).toBe('ok');
    expect(op.tries).toBe(1);
  });

  it('tries again after each retryable failure, pausing between tries', async () => {
    const op = failing(refused, refused);
    const started = Date.now();
    expect(await retryUntil(op, isRefused, Date.now() + 1_000, 20)).toBe('ok');
    expect(op.tries).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
  });

  it('throws a failure it may not retry at once, even after retryable ones', async () => {
    const op = failing(refused, broken, refused);
    await expect(retryUntil(op, isRefused, Date.now() + 1_000, 5)).rejects.toBe(broken);
    expect(op.tries).toBe(2);
  });

  it('throws the last failure when the next try would start after the deadline', async () => {
    const op = failing(...Array.from({ length: 100 }, () => refused));
    const started = Date.now();
    await expect(retryUntil(op, isRefused, started + 100, 30)).rejects.toBe(refused);
    // Tries at about 0, 30 and 60 ms; one at 90 would start too close to the deadline for its pause.
    expect(op.tries).toBeGreaterThanOrEqual(2);
    expect(op.tries).toBeLessThanOrEqual(4);
    expect(Date.now() - started).toBeLessThan(100);
  });

  it('does not try again once stopped', async () => {
    const op = failing(refused, refused);
    await expect(retryUntil(op, isRefused, Date.now() + 1_000, 5, () => true)).rejects.toBe(refused);
    expect(op.tries).toBe(1);
  });
});
