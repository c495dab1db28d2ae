import type { HeartbeatProbe } from './probe.js';

/** What the heartbeat checks and whom it tells: the membership layer, through this narrow interface. */
export interface HeartbeatTarget {
  readonly name: string;
  readonly origin: string;
  readonly instance: number;
}

export interface HealthSink {
  heartbeatTargets(): HeartbeatTarget[];
  /** Called once a target has failed `threshold` heartbeats in a row. */
  reportDown(target: HeartbeatTarget, reason: string): void;
}

export interface HeartbeatOptions {
  readonly intervalMs: number;
  readonly threshold: number;
  /** Told of every check's result (null = it answered); the dashboard shows the last one. */
  readonly onCheck?: (target: HeartbeatTarget, failure: string | null) => void;
}

/**
 * Active health checks: every interval, one heartbeat to each target; `threshold` failures in a row
 * and the target is reported down. Checks run in parallel, and a tick is skipped while the previous
 * one is still waiting, so a hung replica cannot pile up probes.
 */
export class Heartbeat {
  readonly #sink: HealthSink;
  readonly #probe: HeartbeatProbe;
  readonly #options: HeartbeatOptions;
  readonly #failures = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #running = false;

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
    if (this.#running) return;
    this.#running = true;
    try {
      const targets = this.#sink.heartbeatTargets();
      const live = new Set(targets.map(keyOf));
      for (const key of this.#failures.keys()) if (!live.has(key)) this.#failures.delete(key);
      await Promise.all(targets.map((target) => this.#check(target)));
    } finally {
      this.#running = false;
    }
  }

  async #check(target: HeartbeatTarget): Promise<void> {
    const reason = await this.#probe.check(target.origin);
    this.#options.onCheck?.(target, reason);
    const key = keyOf(target);
    if (reason === null) {
      this.#failures.delete(key);
      return;
    }
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    if (failures >= this.#options.threshold) {
      this.#failures.delete(key);
      this.#sink.reportDown(target, `${failures} heartbeats failed (last: ${reason})`);
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

function keyOf(target: HeartbeatTarget): string {
  return `${target.name}#${target.instance}`;
}
