/** The last heartbeat result of each replica, for the dashboard ("last health check"). */
export interface CheckResult {
  /** Epoch ms. */
  readonly at: number;
  /** Why it failed, or null when it answered. */
  readonly failure: string | null;
}

export class HealthChecks {
  readonly #last = new Map<string, CheckResult>();

  record(replica: string, failure: string | null, at = Date.now()): void {
    this.#last.set(replica, { at, failure });
  }

  last(replica: string): CheckResult | undefined {
    return this.#last.get(replica);
  }

  /** Forgets replicas that no longer exist. */
  retain(names: ReadonlySet<string>): void {
    for (const name of this.#last.keys()) if (!names.has(name)) this.#last.delete(name);
  }
}
