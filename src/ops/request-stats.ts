/**
 * Per-replica request counts and latency buckets, kept in plain numbers so that recording a request
 * costs a map lookup and two additions. Prometheus metrics and the dashboard's req/s and p99 are both
 * read from here at scrape or tick time, never computed on the request path.
 */

/** Upper bounds in seconds, 0.5 ms to 10 s; a last, implicit bucket is +Inf. */
export const DURATION_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

export function bucketIndex(seconds: number): number {
  let i = 0;
  while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
  return i;
}

/** One replica's requests over one protocol: the latency histogram Prometheus exposes. */
export class ProtocolRequests {
  readonly buckets = new Float64Array(DURATION_BUCKETS.length + 1);
  count = 0;
  sum = 0;
}

/** Status codes are kept per protocol under one number: `protocol index * 1000 + status`. */
export function codeKey(protocol: number, status: number): number {
  return protocol * 1000 + status;
}

export class ReplicaRequests {
  /** Requests by `codeKey(protocol, status)`; HTTP/1.1's keys are the bare status codes. */
  readonly codes = new Map<number, number>();
  /** Requests per latency bucket over every protocol (not cumulative); the dashboard reads these. */
  readonly buckets = new Float64Array(DURATION_BUCKETS.length + 1);
  /** Indexed like `PROTOCOLS`; filled in when a protocol is first seen. */
  readonly protocols: (ProtocolRequests | undefined)[] = [];
  count = 0;
  sum = 0;

  record(status: number, seconds: number, protocol = 0): void {
    const key = protocol * 1000 + status;
    this.codes.set(key, (this.codes.get(key) ?? 0) + 1);
    const bucket = bucketIndex(seconds);
    this.buckets[bucket]!++;
    this.count++;
    this.sum += seconds;
    let own = this.protocols[protocol];
    if (own === undefined) own = this.protocols[protocol] = new ProtocolRequests();
    own.buckets[bucket]!++;
    own.count++;
    own.sum += seconds;
  }
}

export class RequestStats {
  readonly byReplica = new Map<string, ReplicaRequests>();

  /** `protocol` is an index into `PROTOCOLS` (0, HTTP/1.1, by default). */
  record(replica: string, status: number, seconds: number, protocol = 0): void {
    let entry = this.byReplica.get(replica);
    if (entry === undefined) {
      entry = new ReplicaRequests();
      this.byReplica.set(replica, entry);
    }
    entry.record(status, seconds, protocol);
  }
}

/** A replica's totals at one moment, to diff against a later moment. */
export interface Sample {
  readonly at: number;
  readonly count: number;
  readonly buckets: Float64Array;
}

export function sampleOf(entry: ReplicaRequests | undefined, at: number): Sample {
  return entry === undefined
    ? { at, count: 0, buckets: new Float64Array(DURATION_BUCKETS.length + 1) }
    : { at, count: entry.count, buckets: entry.buckets.slice() };
}

/**
 * The q-quantile of the requests counted in `buckets` (non-cumulative), interpolated linearly inside
 * its bucket as Prometheus' histogram_quantile does; undefined when there are none. A quantile in the
 * +Inf bucket is reported as the largest finite bound.
 */
export function quantile(buckets: ArrayLike<number>, q: number): number | undefined {
  let total = 0;
  for (let i = 0; i < buckets.length; i++) total += buckets[i]!;
  if (total === 0) return undefined;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < buckets.length; i++) {
    const inBucket = buckets[i]!;
    if (below + inBucket >= rank && inBucket > 0) {
      if (i >= DURATION_BUCKETS.length) return DURATION_BUCKETS[DURATION_BUCKETS.length - 1]!;
      const lower = i === 0 ? 0 : DURATION_BUCKETS[i - 1]!;
      const upper = DURATION_BUCKETS[i]!;
      return lower + (upper - lower) * ((rank - below) / inBucket);
    }
    below += inBucket;
  }
  return DURATION_BUCKETS[DURATION_BUCKETS.length - 1]!;
}

/** Requests per second and p99 (seconds) between two samples of the same replica. */
export function windowStats(older: Sample, newer: Sample): { rps: number; p99: number | undefined } {
  const seconds = (newer.at - older.at) / 1000;
  const delta = newer.buckets.map((value, i) => value - older.buckets[i]!);
  return {
    rps: seconds > 0 ? (newer.count - older.count) / seconds : 0,
    p99: quantile(delta, 0.99),
  };
}
