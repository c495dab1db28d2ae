/**
 * What is left of a new member's settle time: a task that has run for a while already (a balancer
 * starting beside a running service) gets none, so one that does not answer holds nobody up.
 * Another host's clock may be off, so the answer stays within 0 and `settleMs`.
 */
export function settleLeftMs(settleMs: number, since: number | undefined, now: number): number {
  if (since === undefined) return settleMs;
  return Math.min(settleMs, Math.max(0, settleMs - (now - since)));
}
