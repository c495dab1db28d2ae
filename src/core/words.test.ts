import { describe, expect, it } from 'vitest';
import { counted } from './words.js';

describe('counted', () => {
  it('puts the noun in the plural unless the count is one', () => {
    expect([0, 1, 2, 56].map((n) => counted(n, 'replica'))).toEqual([
      '0 replicas',
      '1 replica',
      '2 replicas',
      '56 replicas',
    ]);
  });
});
