import type { HeartbeatProbe } from './probe.js';

/** What the heartbeat checks and whom it tells: the membership layer, through this narrow interface. */
export interface HeartbeatTarget {
  readonly name: string;
  readonly origin: string;
  readonly instance: number;
  /** Out of the ring and waiting to answer again: checked for `rise` successes, not for failures. */
  readonly unhealthy?: boolean;
}

export interface HealthSink {
  heartbeatTargets(): HeartbeatTarget[];
  /** Called once a target has failed `threshold` heartbeats in a row. */
  reportDown(target: HeartbeatTarget, reason: string): void;
  /** Called once an unhealthy target has answered `rise` heartbeats in a row. */
  reportUp?(target: HeartbeatTarget): void;
}

export interface HeartbeatOptions {
  readonly intervalMs: number;
  readonly threshold: number;
  /** Heartbeats in a row an unhealthy target must answer to be reported up (default 2). */
  readonly rise?: number;
  /** Told of every check's result (null = it answered); the dashboard shows the last one. */
  readonly onCheck?: (target: HeartbeatTarget, failure: string | null) => void;
}

/**
 * Active health checks: every interval, one heartbeat to each target; `threshold` failures in a row
 * and the target is reported down, `rise` successes in a row of an unhealthy one and it is reported
 * up. Checks run in parallel, and a target whose previous check is still waiting is skipped, so a
 * hung replica can neither pile up probes nor slow down the checks of the others.
 */
export class Heartbeat {
  readonly #sink: HealthSink;
  readonly #probe: HeartbeatProbe;
  readonly #options: HeartbeatOptions;
  /** Failures (healthy targets) or successes (unhealthy ones) in a row, per run of a target. */
  readonly #streaks = new Map<string, number>();
  readonly #inFlight = new Set<string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(sink: HealthSink, probe: HeartbeatProbe, options: HeartbeatOptions) {
    this.#sink = sink;
    this.#probe = probe;
    this.#options = options;
  }

  start(): void {
    this.#timer = setInterval(() => void this.tick(), this.#options.intervalMs);
    this.#timer.unref();
  }

  async tick(): Promise<void> {
    const targets = this.#sink.heartbeatTargets();
    const live = new Set(targets.map(keyOf));
    for (const key of this.#streaks.keys()) if (!live.has(key)) this.#streaks.delete(key);
    await Promise.all(targets.filter((t) => !this.#inFlight.has(keyOf(t))).map((t) => this.#check(t)));
  }

  async #check(target: HeartbeatTarget): Promise<void> {
    const key = keyOf(target);
    this.#inFlight.add(key);
    let reason: string | null;
    try {
      reason = await this.#probe.check(target.origin);
    } finally {
      this.#inFlight.delete(key);
    }
    this.#options.onCheck?.(target, reason);
    // The target's kind of streak ends with the other outcome.
    if ((reason === null) !== Boolean(target.unhealthy)) {
      this.#streaks.delete(key);
      return;
    }
    const streak = (this.#streaks.get(key) ?? 0) + 1;
    this.#streaks.set(key, streak);
    if (target.unhealthy) {
      if (streak < (this.#options.rise ?? 2)) return;
      this.#streaks.delete(key);
      this.#sink.reportUp?.(target);
    } else if (streak >= this.#options.threshold) {
      this.#streaks.delete(key);
      this.#sink.reportDown(target, `${streak} heartbeats failed (last: ${reason})`);
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** A run of a target, and whether it is checked as unhealthy: a change of either starts a new streak. */
function keyOf(target: HeartbeatTarget): string {
  return `${target.name}#${target.instance}${target.unhealthy ? '?' : ''}`;
}
