/** One request of a load run: when it finished (ms from the start), which replica answered, if any. */
export interface Outcome {
  readonly t: number;
  readonly replica: string | undefined;
  readonly ok: boolean;
}

export interface Timeline {
  /** Bucket start times, seconds from the start. */
  readonly seconds: number[];
  /** Requests per second answered by each replica, per bucket. */
  readonly perReplica: Map<string, number[]>;
  /** Failed requests per second, per bucket. */
  readonly failed: number[];
}

/** Buckets outcomes into requests per second per replica and failures per second. */
export function timeline(outcomes: readonly Outcome[], bucketMs: number, durationMs: number): Timeline {
  const buckets = Math.max(1, Math.ceil(durationMs / bucketMs));
  const perSecond = 1000 / bucketMs;
  const seconds = Array.from({ length: buckets }, (_, b) => (b * bucketMs) / 1000);
  const perReplica = new Map<string, number[]>();
  const failed = new Array<number>(buckets).fill(0);
  for (const outcome of outcomes) {
    const b = Math.min(buckets - 1, Math.max(0, Math.floor(outcome.t / bucketMs)));
    if (!outcome.ok || outcome.replica === undefined) {
      failed[b]! += perSecond;
      continue;
    }
    let row = perReplica.get(outcome.replica);
    if (!row) perReplica.set(outcome.replica, (row = new Array<number>(buckets).fill(0)));
    row[b]! += perSecond;
  }
  return { seconds, perReplica: new Map([...perReplica].sort(([a], [b]) => a.localeCompare(b))), failed };
}
