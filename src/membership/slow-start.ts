/**
 * Slow start: a replica that enters a ring that already serves others (it joins, is replaced, comes
 * back from ejection) starts at a small share of its weight and ramps to full over the window, one
 * step at most every second (HAProxy's `slowstart`, Envoy's slow-start window). Pure.
 */
export interface Ramp {
  /** How many weights the replica passes through: 1/steps, 2/steps, ..., 1. */
  readonly steps: number;
  /** Time between two steps: the window divided into steps of at most 1 s. */
  readonly stepMs: number;
}

/** The ramp of a window, or undefined when slow start is off (0). */
export function rampOf(windowMs: number): Ramp | undefined {
  if (!(windowMs > 0)) return undefined;
  const steps = Math.ceil(windowMs / 1_000);
  return { steps, stepMs: windowMs / steps };
}

/** Which step (0 = the first) a replica that entered `elapsedMs` ago is on; `steps - 1` is the last. */
export function rampStep(ramp: Ramp, elapsedMs: number): number {
  return Math.min(ramp.steps - 1, Math.max(0, Math.floor(elapsedMs / ramp.stepMs)));
}

/** The fraction of its weight a replica has on `step`: 1/steps on the first, 1 on the last. */
export function rampFraction(ramp: Ramp, step: number): number {
  return (step + 1) / ramp.steps;
}
