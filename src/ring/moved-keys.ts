import type { Ring } from './ring.js';

/**
 * The fraction of the key space whose owner differs between two rings, measured over `samples` keys
 * spread across 32 bits by a multiplicative (Fibonacci) step. The step is odd, so for a power-of-two
 * ring size such as the classic ring's 512 every residue is hit equally often and the answer is exact;
 * for hashed rings it is an estimate within about 1/√samples.
 */
export function movedRatio(before: Ring, after: Ring, samples = 4096): number {
  const emptyBefore = before.members.length === 0;
  const emptyAfter = after.members.length === 0;
  if (emptyBefore || emptyAfter) return emptyBefore === emptyAfter ? 0 : 1;
  let moved = 0;
  for (let i = 0; i < samples; i++) {
    const key = Math.imul(i, 0x9e3779b1) >>> 0;
    if (before.members[before.pick(key)]!.name !== after.members[after.pick(key)]!.name) moved++;
  }
  return moved / samples;
}
