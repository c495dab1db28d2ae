import { describe, expect, it } from 'vitest';
import { requestIdFrom } from './request-id.js';

describe('requestIdFrom', () => {
  it('takes the integer in the header', () => {
    expect(requestIdFrom('42')).toBe(42);
    expect(requestIdFrom(' 123456 ')).toBe(123456);
    expect(requestIdFrom('-7')).toBe(-7);
    expect(requestIdFrom('9007199254740991')).toBe(9007199254740991);
  });

  it('draws a random 6-digit id when the header is absent or not a safe integer', () => {
    for (const header of [undefined, '', 'abc', '12a', '1.5', '1e3', '9007199254740993', ['1', '2']]) {
      const id = requestIdFrom(header);
      expect(id).toBeGreaterThanOrEqual(100_000);
      expect(id).toBeLessThanOrEqual(999_999);
    }
    expect(requestIdFrom(undefined, () => 0)).toBe(100_000);
    expect(requestIdFrom(undefined, () => 0.9999999)).toBe(999_999);
  });
});
