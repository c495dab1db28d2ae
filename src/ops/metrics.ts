import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { Ring } from '../ring/ring.js';
import { PROTOCOLS } from '../core/protocol.js';
import { DURATION_BUCKETS, RequestStats } from './request-stats.js';
import type { ReplicaState, Telemetry } from './telemetry.js';

/** What the metrics read from membership at scrape time (the Cluster fits it). */
export interface MembershipView {
  describe(): readonly {
    readonly name: string;
    readonly number: number;
    readonly state: ReplicaState;
    /** While slow start ramps it up: the fraction of its weight it has. */
    readonly warming?: number;
    /** Where the balancer reaches it, once started. */
    readonly origin?: string | undefined;
    /** What runs it: a local process or a container, when the provider says. */
    readonly pid?: number;
    readonly containerId?: string;
  }[];
  readonly table: { readonly ring: Ring };
}

/** The state names: a replica that is down and out of the ring is "ejected". */
const STATE_LABEL: Record<ReplicaState, string> = {
  starting: 'starting',
  healthy: 'healthy',
  ejected: 'ejected',
  down: 'ejected',
  unhealthy: 'unhealthy',
  draining: 'draining',
};

/** prom-client's shape for one collected metric (what `get()` returns and AggregatorRegistry merges). */
interface Collected {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  values: { labels: Record<string, string | number>; value: number; metricName?: string }[];
}

/**
 * Prometheus metrics for one balancer process. Request counts live in plain numbers (`RequestStats`)
 * and become `ringlb_requests_total` and `ringlb_request_duration_seconds` only when scraped, so a
 * request costs a map lookup, not prom-client's label hashing. Membership gauges are computed from
 * the cluster at scrape time. Everything is in this instance's own registry, which is what an
 * `AggregatorRegistry` needs when several worker processes serve traffic.
 */
export class Metrics implements Telemetry {
  readonly registry: Registry;
  readonly requests = new RequestStats();
  readonly #retries: Counter;
  readonly #fallbacks: Counter;
  readonly #replacements: Counter;
  readonly #membershipChanges: Counter;
  readonly #keysMoved: Gauge;

  constructor(membership: MembershipView, registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    collectDefaultMetrics({ register: registry });
    const requests = this.requests;
    this.#register({
      name: 'ringlb_requests_total',
      help: 'Proxied requests by replica, status code and client protocol.',
      type: 'counter',
      collect: () =>
        [...requests.byReplica].flatMap(([replica, entry]) =>
          [...entry.codes].map(([key, value]) => ({
            labels: { replica, code: key % 1000, protocol: PROTOCOLS[Math.floor(key / 1000)]! },
            value,
          })),
        ),
    });
    this.#register({
      name: 'ringlb_request_duration_seconds',
      help: 'Time from receiving a proxied request to the end of its reply, by replica and client protocol.',
      type: 'histogram',
      collect: () =>
        [...requests.byReplica].flatMap(([replica, entry]) =>
          entry.protocols.flatMap((own, index) => {
            if (own === undefined) return [];
            const protocol = PROTOCOLS[index]!;
            const values: Collected['values'] = [];
            let cumulative = 0;
            own.buckets.forEach((count, i) => {
              cumulative += count;
              values.push({
                labels: {
                  replica,
                  protocol,
                  le: i < DURATION_BUCKETS.length ? DURATION_BUCKETS[i]! : '+Inf',
                },
                value: cumulative,
                metricName: 'ringlb_request_duration_seconds_bucket',
              });
            });
            values.push({
              labels: { replica, protocol },
              value: own.sum,
              metricName: 'ringlb_request_duration_seconds_sum',
            });
            values.push({
              labels: { replica, protocol },
              value: own.count,
              metricName: 'ringlb_request_duration_seconds_count',
            });
            return values;
          }),
        ),
    });
    this.#retries = new Counter({
      name: 'ringlb_retries_total',
      help: 'Requests sent again to another replica because theirs could not be reached, by client protocol.',
      labelNames: ['protocol'],
      registers,
    });
    this.#fallbacks = new Counter({
      name: 'ringlb_hash_key_fallbacks_total',
      help: 'Requests without the configured hash key, routed by a random key.',
      registers,
    });
    this.#replacements = new Counter({
      name: 'ringlb_replacements_total',
      help: 'Failed replicas replaced.',
      registers,
    });
    this.#membershipChanges = new Counter({
      name: 'ringlb_membership_changes_total',
      help: 'Times the ring was rebuilt because its members changed.',
      registers,
    });
    // Membership is the same in every worker, so across workers these are taken once, not summed.
    this.#keysMoved = new Gauge({
      name: 'ringlb_keys_moved_ratio',
      help: 'Fraction of the key space that moved to another replica in the last membership change.',
      registers,
      aggregator: 'first',
    });
    new Gauge({
      name: 'ringlb_replicas',
      help: 'Replicas by state (healthy, ejected, starting, draining).',
      labelNames: ['state'],
      registers,
      aggregator: 'first',
      collect() {
        const counts: Record<string, number> = { healthy: 0, ejected: 0, starting: 0, draining: 0 };
        for (const replica of membership.describe()) counts[STATE_LABEL[replica.state]]!++;
        for (const [state, count] of Object.entries(counts)) this.set({ state }, count);
      },
    });
    new Gauge({
      name: 'ringlb_replica_key_share',
      help: 'Fraction of the key space each replica in the ring owns now.',
      labelNames: ['replica'],
      registers,
      aggregator: 'first',
      collect() {
        this.reset();
        const { ring } = membership.table;
        ring.shares().forEach((share, i) => this.set({ replica: ring.members[i]!.name }, share));
      },
    });
  }

  /** A metric whose values are computed when scraped; prom-client only needs `name` and `get()`. */
  #register(spec: Omit<Collected, 'values' | 'aggregator'> & { collect: () => Collected['values'] }): void {
    const metric = {
      name: spec.name,
      help: spec.help,
      type: spec.type,
      aggregator: 'sum' as const,
      get: (): Collected => ({
        name: spec.name,
        help: spec.help,
        type: spec.type,
        aggregator: 'sum',
        values: spec.collect(),
      }),
    };
    this.registry.registerMetric(metric as unknown as Metric);
  }

  /** The text a scrape returns. In a multi-process setup this is the seam to aggregate across workers. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  requestDone(replica: string, status: number, seconds: number, protocol: number): void {
    this.requests.record(replica, status, seconds, protocol);
  }

  retry(protocol: number): void {
    this.#retries.inc({ protocol: PROTOCOLS[protocol] ?? 'http1' });
  }

  hashKeyFallback(): void {
    this.#fallbacks.inc();
  }

  replacement(): void {
    this.#replacements.inc();
  }

  membershipChange(_reason: string, movedRatio: number): void {
    this.#membershipChanges.inc();
    this.#keysMoved.set(movedRatio);
  }

  replicaState(): void {
    // Replica states are read from the cluster when scraped.
  }
}
