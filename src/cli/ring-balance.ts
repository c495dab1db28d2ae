import { counted } from '../core/words.js';
import type { RingAlgorithm } from '../ring/registry.js';

/**
 * The start-up line about the ring: its algorithm and how evenly it spreads keys over the replicas
 * it holds now (the busiest replica's share over the mean share). The classic ring is the seed's,
 * uneven by design, so its line says how to get an even spread.
 */
export function ringBalanceLine(
  algorithm: RingAlgorithm,
  shares: readonly number[],
): { fields: Record<string, unknown>; message: string } {
  const n = shares.length;
  const busiest = n === 0 ? 0 : Math.max(...shares);
  const maxOverMean = n === 0 ? 0 : Math.round(busiest * n * 100) / 100;
  const fields = {
    ring: algorithm,
    replicas: n,
    maxOverMean,
    busiestShare: Math.round(busiest * 1000) / 1000,
  };
  const spread =
    n === 0
      ? 'no replicas yet'
      : n === 1
        ? 'its one replica holds every key'
        : `the busiest of ${counted(n, 'replica')} holds ${(busiest * 100).toFixed(0)}% of keys, ${maxOverMean}× the mean`;
  const hint =
    algorithm === 'classic' && n > 1
      ? " (the seed's ring, uneven by design; --ring maglev or ketama spread keys evenly)"
      : '';
  return { fields, message: `ring ${algorithm}: ${spread}${hint}` };
}
