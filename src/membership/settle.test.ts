import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { settleLeftMs } from './settle.js';

describe("what is left of a new member's settle time", () => {
  it('is the whole time for a member that has just started, or whose start is not known', () => {
    expect(settleLeftMs(5_000, 1_000, 1_000)).toBe(5_000);
    expect(settleLeftMs(5_000, undefined, 1_000)).toBe(5_000);
  });

  it('shrinks as the member has run, and is nothing once it has run the whole time', () => {
    expect(settleLeftMs(5_000, 1_000, 3_000)).toBe(3_000);
    expect(settleLeftMs(5_000, 1_000, 6_000)).toBe(0);
    expect(settleLeftMs(5_000, 1_000, 600_000)).toBe(0);
  });

  it('stays within 0 and the settle time whatever the clocks say', () => {
    fc.assert(
      fc.property(fc.nat(60_000), fc.integer(), fc.integer(), (settleMs, since, now) => {
        const left = settleLeftMs(settleMs, since, now);
        expect(left).toBeGreaterThanOrEqual(0);
        expect(left).toBeLessThanOrEqual(settleMs);
        // A start in the future (another host's clock ahead) waits the whole time.
        if (since >= now) expect(left).toBe(settleMs);
      }),
    );
  });
});
