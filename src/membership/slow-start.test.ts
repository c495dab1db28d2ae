import { describe, expect, it } from 'vitest';
import { rampFraction, rampOf, rampStep } from './slow-start.js';

describe('slow start ramp', () => {
  it('is off at 0', () => {
    expect(rampOf(0)).toBeUndefined();
  });

  it('splits the window into steps of at most 1 s, from 1/steps to full', () => {
    expect(rampOf(10_000)).toEqual({ steps: 10, stepMs: 1_000 });
    expect(rampOf(2_500)).toEqual({ steps: 3, stepMs: 2_500 / 3 });
    expect(rampOf(300)).toEqual({ steps: 1, stepMs: 300 });
    const ramp = rampOf(4_000)!;
    const at = (ms: number) => rampFraction(ramp, rampStep(ramp, ms));
    expect([0, 999, 1_000, 2_500, 3_000, 3_999, 4_000, 60_000].map(at)).toEqual([
      0.25, 0.25, 0.5, 0.75, 1, 1, 1, 1,
    ]);
    expect(rampStep(ramp, -5)).toBe(0);
  });

  it('never decreases and never exceeds full weight', () => {
    for (const windowMs of [1, 999, 1_000, 1_001, 7_300, 60_000]) {
      const ramp = rampOf(windowMs)!;
      expect(ramp.stepMs).toBeLessThanOrEqual(1_000);
      let last = 0;
      for (let ms = 0; ms <= windowMs + 1_000; ms += 97) {
        const fraction = rampFraction(ramp, rampStep(ramp, ms));
        expect(fraction).toBeGreaterThanOrEqual(last);
        expect(fraction).toBeLessThanOrEqual(1);
        last = fraction;
      }
      expect(last).toBe(1);
    }
  });
});
