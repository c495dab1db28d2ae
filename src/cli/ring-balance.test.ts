import { describe, expect, it } from 'vitest';
import { ringBalanceLine } from './ring-balance.js';

describe('ringBalanceLine', () => {
  const rows: [Parameters<typeof ringBalanceLine>[0], number[], string][] = [
    ['classic', [], 'ring classic: no replicas yet'],
    ['classic', [1], 'ring classic: its one replica holds every key'],
    ['maglev', [1], 'ring maglev: its one replica holds every key'],
    [
      'classic',
      [0.892578125, 0.04296875, 0.064453125],
      "ring classic: the busiest of 3 replicas holds 89% of keys, 2.68× the mean (the seed's ring, uneven by design; --ring maglev or ketama spread keys evenly)",
    ],
    [
      'maglev',
      [0.3334, 0.3333, 0.3333],
      'ring maglev: the busiest of 3 replicas holds 33% of keys, 1× the mean',
    ],
    ['ketama', [0.6, 0.4], 'ring ketama: the busiest of 2 replicas holds 60% of keys, 1.2× the mean'],
  ];
  for (const [algorithm, shares, message] of rows) {
    it(`${algorithm} over ${shares.length} replicas`, () => {
      const line = ringBalanceLine(algorithm, shares);
      expect(line.message).toBe(message);
      expect(line.fields).toMatchObject({ ring: algorithm, replicas: shares.length });
    });
  }
});
