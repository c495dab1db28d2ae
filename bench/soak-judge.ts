// The soak's judgements, pure (no I/O): which failures the faults explain, whether memory and fds
// are flat, and the fault windows that the latency check leaves out. Tested in test/soak-judge.test.ts.
import type { Failure } from './soak-record.js';

export type FaultKind =
  | 'SIGKILL'
  | 'SIGSTOP'
  | 'slow replica'
  | 'reset replica'
  | '/add'
  | '/rm'
  | 'PUT /ring'
  | 'certificate rotation'
  | 'etcd member restart'
  | 'leader instance killed'
  | 'dockerd restart';

export interface FaultWindow {
  readonly kind: FaultKind;
  readonly target: string;
  readonly at: number;
  /** When its effect was over (the replica serving again, the API's answer...). */
  readonly end: number;
  /** The balancer instance it took away (leader kill), whose clients lose their connections. */
  readonly instance?: string;
}

/** How long after a fault's end its effects may still show (a connection reused once more, ...). */
export const WINDOW_GRACE_MS = 2_000;

/** Faults that take a replica's requests away: what is in flight on it can be lost. */
const CUTS_REPLICA: ReadonlySet<FaultKind> = new Set([
  'SIGKILL',
  'SIGSTOP',
  'slow replica',
  'reset replica',
  'dockerd restart',
]);

export interface Verdict {
  readonly expected: boolean;
  /** Why: the fault that explains it, or what should have happened instead. */
  readonly why: string;
}

const overlaps = (failure: Failure, fault: FaultWindow) =>
  failure.start <= fault.end + WINDOW_GRACE_MS && failure.end >= fault.at;

/**
 * A failure is expected only when a fault explains it and no balancer could have saved it:
 * - a request that is not idempotent (POST, gRPC unary, a WebSocket message or tunnel) in flight
 *   while its replica was killed, stopped, slow beyond the per-try timeout or reset: a proxy may
 *   not replay it;
 * - an idempotent request whose response was cut mid-body by a kill or a reset: once bytes went to
 *   the client, a proxy cannot retry it;
 * - any request to a balancer instance while that instance was killed.
 * Everything else is unexpected: a response that ended cleanly with the wrong body (always: the
 * client cannot tell it from a right one), an idempotent request that failed before its response (the
 * balancer should have retried it on another replica), and anything during /add, /rm, PUT /ring or
 * a certificate rotation, which must lose nothing.
 */
export function classify(failure: Failure, faults: readonly FaultWindow[]): Verdict {
  const during = faults.filter((fault) => overlaps(failure, fault));
  if (failure.stage === 'wrong-body')
    return {
      expected: false,
      why: 'the response ended as if whole, with the wrong body: no fault excuses that',
    };
  const instanceDown = during.find(
    (fault) => fault.kind === 'leader instance killed' && fault.instance === failure.instance,
  );
  if (instanceDown)
    return { expected: true, why: `its balancer instance was killed (${instanceDown.target})` };
  const cut = during.find((fault) => CUTS_REPLICA.has(fault.kind));
  if (cut && !failure.idempotent)
    return { expected: true, why: `not idempotent, in flight during ${cut.kind} ${cut.target}` };
  const midBody = during.find((fault) => fault.kind === 'SIGKILL' || fault.kind === 'reset replica');
  if (midBody && failure.stage === 'mid-body')
    return { expected: true, why: `response cut mid-body by ${midBody.kind} ${midBody.target}` };
  if (during.length === 0) return { expected: false, why: 'no fault at the time' };
  return {
    expected: false,
    why: `during ${during.map((f) => `${f.kind} ${f.target}`).join(', ')}: ${
      failure.idempotent && failure.stage === 'before-response'
        ? 'an idempotent request should have been retried on another replica'
        : 'this fault must not fail requests'
    }`,
  };
}

/** Whether `at` (ms) is inside any fault's window, grace included. */
export function inFaultWindow(at: number, faults: readonly FaultWindow[]): boolean {
  return faults.some((fault) => at >= fault.at && at <= fault.end + WINDOW_GRACE_MS);
}

export interface Trend {
  /** Least-squares slope, in units per minute. */
  readonly slope: number;
  /** Standard deviation of the residuals around the fitted line. */
  readonly noise: number;
  /** slope × the window's length: how much the fitted line rises over the window. */
  readonly rise: number;
  readonly minutes: number;
  readonly mean: number;
  readonly points: number;
}

/** Fits a line to (minute, value) points. */
export function trend(points: readonly (readonly [number, number])[]): Trend {
  const n = points.length;
  if (n < 3) return { slope: NaN, noise: NaN, rise: NaN, minutes: 0, mean: NaN, points: n };
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  const residuals = points.map(([x, y]) => y - (my + slope * (x - mx)));
  const noise = Math.sqrt(residuals.reduce((s, r) => s + r * r, 0) / Math.max(1, n - 2));
  const minutes = points[n - 1]![0] - points[0]![0];
  return { slope, noise, rise: slope * minutes, minutes, mean: my, points: n };
}

export interface Flatness {
  readonly trend: Trend;
  /** The rise the trend may have without being called a leak. */
  readonly allowed: number;
  readonly flat: boolean;
}

/**
 * Flat when the fitted line rises over the window by no more than twice the noise around it (the
 * GC's sawtooth, connections coming and going) or `floor` (what warm-up alone may add: JIT code,
 * pools filling), whichever is larger. A leak grows without bound, so its rise outgrows both as the
 * window gets longer; a sawtooth does not.
 */
export function judgeFlat(points: readonly (readonly [number, number])[], floor: number): Flatness {
  const fitted = trend(points);
  const allowed = Math.max(2 * fitted.noise, floor);
  return { trend: fitted, allowed, flat: Number.isFinite(fitted.rise) && fitted.rise <= allowed };
}

/** The fitting window: the last 8 minutes of a run of 10 or more, the last 80 % of a shorter one. */
export function slopeWindow(loadMs: number): number {
  return loadMs >= 10 * 60_000 ? 8 * 60_000 : 0.8 * loadMs;
}

/**
 * When the open fds got back to `start` after the load stopped (ms after the stop), or undefined
 * if they did not within the samples given.
 */
export function fdsBackAfter(
  samples: readonly { readonly at: number; readonly fds: number }[],
  stoppedAt: number,
  start: number,
): number | undefined {
  const back = samples.find((s) => s.at >= stoppedAt && s.fds <= start);
  return back === undefined ? undefined : back.at - stoppedAt;
}
