import type { ServerResponse } from 'node:http';
import { EventStream } from './event-stream.js';
import type { HealthChecks } from './health-checks.js';
import type { HotKey, HotKeys } from './hot-keys.js';
import type { MembershipView } from './metrics.js';
import { sampleOf, windowStats, type RequestStats, type Sample } from './request-stats.js';
import { ringArcs, type RingDrawing } from './ring-arcs.js';
import type { ReplicaState, Telemetry } from './telemetry.js';

export interface ReplicaRow {
  readonly name: string;
  readonly number: number;
  readonly state: ReplicaState;
  /** Where the balancer reaches it (`http://127.0.0.1:40123`); null before it first started. */
  readonly origin: string | null;
  /** Its process (process providers) or container (Docker), for `ps` or `docker ps`; else null. */
  readonly pid: number | null;
  readonly containerId: string | null;
  /** Fraction of the key space it owns now; 0 when it is not in the ring. */
  readonly share: number;
  /** Slow start: the fraction of its weight it has while it ramps up; null otherwise. */
  readonly warming: number | null;
  readonly rps: number | null;
  readonly p99Ms: number | null;
  readonly lastCheck: { readonly at: number; readonly failure: string | null } | null;
}

export interface Snapshot {
  readonly at: number;
  readonly ring: RingDrawing & { readonly members: { readonly name: string; readonly number: number }[] };
  readonly replicas: ReplicaRow[];
  /** The 10 hottest keys of the last 2 s; null when `--hot-keys` is off. */
  readonly hotKeys: HotKey[] | null;
}

export type TimelineEvent =
  | {
      readonly at: number;
      readonly kind: 'state';
      readonly replica: string;
      readonly from: ReplicaState | null;
      readonly to: ReplicaState | null;
      readonly reason: string;
    }
  | { readonly at: number; readonly kind: 'ring'; readonly reason: string; readonly movedRatio: number };

export interface DashboardOptions {
  readonly membership: MembershipView;
  /** Where req/s and p99 come from; absent when metrics are off. */
  readonly requests: RequestStats | undefined;
  readonly checks: HealthChecks;
  readonly hotKeys?: HotKeys | undefined;
  /** How often req/s and p99 are pushed to open pages. */
  readonly tickMs?: number;
}

/** req/s and p99 are measured over this many ticks. */
const WINDOW_TICKS = 5;
const TIMELINE_LENGTH = 200;

/**
 * The live state behind `/dashboard`: a snapshot of ring, replicas and their load, pushed to every
 * open page over Server-Sent Events when membership changes and once a tick for the load figures,
 * plus a timeline of state transitions and ring changes.
 */
export class Dashboard implements Partial<Telemetry> {
  readonly #options: DashboardOptions;
  readonly stream = new EventStream();
  readonly #timeline: TimelineEvent[] = [];
  readonly #samples = new Map<string, Sample[]>();
  readonly #ticker: NodeJS.Timeout;
  #snapshotQueued = false;

  constructor(options: DashboardOptions) {
    this.#options = options;
    this.#ticker = setInterval(() => this.#tick(), options.tickMs ?? 1000);
    this.#ticker.unref();
  }

  replicaState(
    replica: string,
    from: ReplicaState | undefined,
    to: ReplicaState | undefined,
    reason: string,
  ) {
    this.#record({ at: Date.now(), kind: 'state', replica, from: from ?? null, to: to ?? null, reason });
  }

  membershipChange(reason: string, movedRatio: number) {
    this.#record({ at: Date.now(), kind: 'ring', reason, movedRatio });
  }

  #record(event: TimelineEvent): void {
    this.#timeline.push(event);
    if (this.#timeline.length > TIMELINE_LENGTH) this.#timeline.shift();
    this.stream.send('event', event);
    this.#queueSnapshot();
  }

  /** Several changes in one turn of the event loop become one snapshot. */
  #queueSnapshot(): void {
    if (this.#snapshotQueued || this.stream.clients === 0) return;
    this.#snapshotQueued = true;
    setImmediate(() => {
      this.#snapshotQueued = false;
      this.stream.send('snapshot', this.snapshot());
    });
  }

  #tick(): void {
    const names = new Set(this.#options.membership.describe().map((r) => r.name));
    this.#options.checks.retain(names);
    const requests = this.#options.requests;
    if (requests) {
      const now = Date.now();
      for (const name of this.#samples.keys()) if (!names.has(name)) this.#samples.delete(name);
      for (const name of names) {
        const samples = this.#samples.get(name) ?? [];
        samples.push(sampleOf(requests.byReplica.get(name), now));
        if (samples.length > WINDOW_TICKS + 1) samples.shift();
        this.#samples.set(name, samples);
      }
    }
    if (this.stream.clients > 0) this.stream.send('snapshot', this.snapshot());
  }

  snapshot(): Snapshot {
    const { ring } = this.#options.membership.table;
    const shares = ring.shares();
    const shareOf = new Map(ring.members.map((m, i) => [m.name, shares[i] ?? 0]));
    const replicas = this.#options.membership.describe().map((replica): ReplicaRow => {
      const samples = this.#samples.get(replica.name);
      const load =
        samples && samples.length > 1 ? windowStats(samples[0]!, samples[samples.length - 1]!) : undefined;
      return {
        name: replica.name,
        number: replica.number,
        state: replica.state,
        origin: replica.origin ?? null,
        pid: replica.pid ?? null,
        containerId: replica.containerId ?? null,
        share: shareOf.get(replica.name) ?? 0,
        warming: replica.warming ?? null,
        rps: load ? Math.round(load.rps * 10) / 10 : null,
        p99Ms: load?.p99 === undefined ? null : Math.round(load.p99 * 1e5) / 100,
        lastCheck: this.#options.checks.last(replica.name) ?? null,
      };
    });
    return {
      at: Date.now(),
      ring: { ...ringArcs(ring), members: ring.members.map((m) => ({ name: m.name, number: m.number })) },
      replicas,
      hotKeys: this.#options.hotKeys?.top(10) ?? null,
    };
  }

  /** `GET /events`: the current snapshot and timeline first, then every change as it happens. */
  openStream(res: ServerResponse): void {
    this.stream.open(res, [
      ['timeline', this.#timeline],
      ['snapshot', this.snapshot()],
    ]);
  }

  close(): void {
    clearInterval(this.#ticker);
    this.stream.close();
  }
}
