import { describe, expect, it } from 'vitest';
import { defaultReplicaName, lowestFreeNumber } from './numbering.js';

describe('replica numbering', () => {
  it('starts at 1 and fills the lowest gap', () => {
    expect(lowestFreeNumber(new Set())).toBe(1);
    expect(lowestFreeNumber(new Set([1, 2, 3]))).toBe(4);
    expect(lowestFreeNumber(new Set([1, 3]))).toBe(2);
    expect(lowestFreeNumber(new Set([2, 3]))).toBe(1);
  });

  it('names an unnamed replica after its number', () => {
    expect(defaultReplicaName(7)).toBe('Server 7');
  });
});
