import type { Logger } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { RinglbError, seedMessage } from '../core/errors.js';
import type { HealthSink, HeartbeatTarget } from '../health/heartbeat.js';
import type { HeartbeatProbe } from '../health/probe.js';
import type { Provider, ReplicaSpec, RunningReplica } from '../providers/provider.js';
import type { BuildRing, Ring } from '../ring/ring.js';
import type { Telemetry } from '../ops/telemetry.js';
import { movedFraction } from '../ring/moved.js';
import {
  planAdd,
  planRemove,
  specsOf,
  type AddRequest,
  type DesiredMember,
  type PlanRules,
} from './desired-set.js';
import { buildRoutingTable, type Route, type RoutingTable } from './routing-table.js';
export type { Route, RoutingTable } from './routing-table.js';
import { SerialQueue } from './serial-queue.js';
import { settleLeftMs } from './settle.js';
import { rampFraction, rampOf, rampStep, type Ramp } from './slow-start.js';

import type { ReplicaState } from '../ops/telemetry.js';
export type { ReplicaState } from '../ops/telemetry.js';

interface ReplicaRecord {
  readonly spec: ReplicaSpec;
  state: ReplicaState;
  running: RunningReplica | undefined;
  /** When the replica was last seen to fail, for measuring how long replacement takes. */
  failedAt: number | undefined;
  replaceAttempts: number;
  /** When the replica failed lately: a replica that keeps failing is replaced with growing delays. */
  failures: number[];
  /** How often passive health has ejected it: each ejection lasts longer. */
  ejections: number;
  /** Its relative share of keys (`/add`'s `weights`, `PUT /replicas/<name>`); 1 by default. */
  weight: number;
  /** Slow start: while it ramps up, the step it is on and the timer of the next one. */
  ramp: { readonly since: number; step: number; timer: NodeJS.Timeout } | undefined;
}

function noSlowStartError(windowMs: number): RinglbError {
  return new RinglbError(
    'ERR_INVALID_BODY',
    seedMessage(
      `slow start (--slow-start ${windowMs / 1000}) ramps a replica's weight, and the classic ring has no weights: keep ketama, maglev or rendezvous, or start with --slow-start 0`,
    ),
  );
}

function noWeightsError(): RinglbError {
  return new RinglbError(
    'ERR_INVALID_BODY',
    seedMessage(
      "the classic ring has no weights (the seed's ring places replicas by number only): switch to ketama, maglev or rendezvous first (PUT /ring)",
    ),
  );
}

/** A change not made: the ring before and after it, and the replicas wanted after it. */
export interface ChangePreview {
  readonly before: Ring;
  readonly after: Ring;
  /** Every replica wanted after the change, by number (what the real reply's `replicas` lists). */
  readonly names: readonly string[];
  readonly added?: readonly string[];
  readonly removed?: readonly string[];
}

export interface ClusterOptions {
  readonly provider: Provider;
  readonly buildRing: BuildRing;
  /** The most replicas the ring can hold. */
  readonly capacity: number;
  /** Whether the ring honours weights (the seed's classic ring does not). */
  readonly weighted: boolean;
  readonly probe: HeartbeatProbe;
  readonly logger: Logger;
  /** How long a new or replacement replica may take to answer its first heartbeat. */
  readonly readyTimeoutMs?: number;
  /** Waits until no request is in flight to a replica that left the ring (bounded by the caller). */
  readonly drain?: (origin: string) => Promise<void>;
  readonly ejection?: EjectionPolicy;
  /** Told of every state change, replacement and ring change (metrics, dashboard, logs). */
  readonly telemetry?: Telemetry;
  /**
   * Slow start (`--slow-start`, ms; 0 = off): a replica that enters a ring serving others ramps from
   * a small weight to its own in steps of at most 1 s, each step a ring change of its own.
   */
  readonly slowStartMs?: number;
}

/** Passive health: how many replicas may be out at once, for how long, and how they come back. */
export interface EjectionPolicy {
  /** Largest share of the replicas that may be ejected at the same time. */
  readonly maxShare: number;
  /** First ejection's length; each further one doubles it (up to 5 minutes). */
  readonly baseMs: number;
  /** Heartbeats in a row that must succeed before an ejected replica returns. */
  readonly rise: number;
  readonly intervalMs: number;
}

/**
 * How long a member whose life is not ours gets to answer its first check before it counts as
 * unhealthy. One behind a link that drops packets answers nothing until the probe's timeout, and
 * the members started with it (the balancer's start, an /add) must not wait for it: they serve at
 * once, and the heartbeat goes on checking it and takes it in after `rise` good answers.
 */
const FIRST_CHECK_MS = 250;

/** The check's outcome, or a reason of its own once `withinMs` has passed (the check runs on, unheard). */
async function firstAnswer(check: Promise<string | null>, withinMs: number): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${withinMs} ms`), withinMs);
  });
  try {
    return await Promise.race([check, late]);
  } finally {
    clearTimeout(timer);
  }
}

const DEFAULT_EJECTION: EjectionPolicy = { maxShare: 0.5, baseMs: 5_000, rise: 2, intervalMs: 500 };
const FLAP_WINDOW_MS = 60_000;

/** An add, with the weights of named replicas (the others have weight 1). */
export interface WeightedAdd extends AddRequest {
  readonly weights?: Readonly<Record<string, number>> | undefined;
}

/** A ring change: how to build the ring, how many replicas it holds, whether it has weights. */
export type RingChoice = Pick<ClusterOptions, 'buildRing' | 'capacity' | 'weighted'>;

/**
 * Owns membership: the replicas the user wants (names and numbers), their states, and the ring built
 * from the healthy ones. Every change goes through one serial queue; the ring is rebuilt off the
 * request path and swapped in whole.
 */
export class Cluster implements HealthSink {
  /** Replaced whole when the ring settings change (`useRing`). */
  #options: ClusterOptions;
  readonly #replicas = new Map<string, ReplicaRecord>();
  readonly #queue = new SerialQueue();
  readonly #listeners: ((table: RoutingTable) => void)[] = [];
  /** Origins found not answering just before (the start's own checks), and why; each told once. */
  readonly #notAnswering = new Map<string, string>();
  #table: RoutingTable;
  #closed = false;
  replacements = 0;

  constructor(options: ClusterOptions) {
    this.#options = options;
    this.#table = { ring: options.buildRing([], new Int32Array(0)), routes: [], loads: new Int32Array(0) };
    options.provider.onExit((replica, reason) =>
      this.reportDown(
        { name: replica.spec.name, origin: replica.origin, instance: replica.instance },
        `${options.provider.kind}: ${reason}`,
      ),
    );
    options.provider.onReplaced?.((replica) => this.#follow(replica));
    // Replacements held back by an unavailable provider need not wait out their back-off.
    options.provider.onAvailable?.(() => {
      for (const record of this.#replicas.values())
        if (record.state === 'down') this.#scheduleReplace(record, 0);
    });
  }

  /** The current routing table; replaced whole on every change. */
  get table(): RoutingTable {
    return this.#table;
  }

  onChange(listener: (table: RoutingTable) => void): void {
    this.#listeners.push(listener);
  }

  /** Replica names the user asked for, by number. */
  names(): string[] {
    return this.#records().map((record) => record.spec.name);
  }

  /** Every replica with its state, by number; `warming` while slow start ramps it up. */
  describe(): {
    name: string;
    number: number;
    state: ReplicaState;
    origin: string | undefined;
    warming?: number;
  }[] {
    return this.#records().map((r) => ({
      name: r.spec.name,
      number: r.spec.number,
      state: r.state,
      origin: r.running?.origin,
      ...(r.ramp ? { warming: this.#rampFractionOf(r) } : {}),
    }));
  }

  /** While slow start ramps a replica up, the fraction of its weight it has; else undefined. */
  warming(name: string): number | undefined {
    const record = this.#replicas.get(name);
    return record?.ramp ? this.#rampFractionOf(record) : undefined;
  }

  /** What `add` would do, on the membership as it is once earlier changes are done; changes nothing. */
  previewAdd(request: WeightedAdd, rules: PlanRules): Promise<ChangePreview> {
    return this.#queue.run(async () => {
      this.#assertOpen();
      this.checkWeights(request.weights);
      const current = this.#desired();
      const next = planAdd(current, request, rules);
      const added = specsOf(next).filter((spec) => !current.has(spec.name));
      // A new replica joins the ring once healthy; an add that cannot start one fails whole.
      // Not started yet, so no origin: the ring places a replica by name and number only.
      const entry = this.#entryFraction();
      const joining = added.map((spec) => ({
        name: spec.name,
        number: spec.number,
        origin: '',
        weight: (request.weights?.[spec.name] ?? 1) * entry,
      }));
      return this.#preview(this.#options.buildRing, [...this.#routes(), ...joining], specsOf(next), {
        added: added.map((spec) => spec.name),
      });
    });
  }

  /**
   * What `remove` would do. Replicas not named are chosen at random now and listed in `removed`;
   * the real call chooses afresh, so only a removal by name is previewed exactly.
   */
  previewRemove(n: number, hostnames: readonly string[]): Promise<ChangePreview> {
    return this.#queue.run(async () => {
      this.#assertOpen();
      const current = this.#desired();
      const next = planRemove(current, n, hostnames);
      const removed = [...current.keys()].filter((name) => !next.has(name));
      const routes = this.#routes().filter((route) => next.has(route.name));
      return this.#preview(this.#options.buildRing, routes, specsOf(next), { removed });
    });
  }

  /** What `useRing` would do; refused like `useRing` when the replicas do not fit. */
  previewRing(ring: RingChoice): Promise<ChangePreview> {
    return this.#queue.run(async () => {
      this.#assertOpen();
      this.#assertFits(ring);
      return this.#preview(
        ring.buildRing,
        this.#routes(),
        this.#records().map((r) => r.spec),
        {},
      );
    });
  }

  #preview(
    buildRing: BuildRing,
    routes: readonly Route[],
    wanted: readonly ReplicaSpec[],
    names: { added?: string[]; removed?: string[] },
  ): ChangePreview {
    const { ring: after } = buildRoutingTable(buildRing, routes);
    return { before: this.#table.ring, after, names: wanted.map((spec) => spec.name), ...names };
  }

  /** The replicas wanted, as a desired set. */
  #desired(): Map<string, DesiredMember> {
    return new Map(
      [...this.#replicas.values()].map(({ spec }) => [
        spec.name,
        spec.backend === undefined ? { number: spec.number } : { number: spec.number, backend: spec.backend },
      ]),
    );
  }

  /** A ring switch is refused when the replicas do not fit, or have weights the ring cannot honour. */
  #assertFits(ring: RingChoice): void {
    if (this.#replicas.size > ring.capacity) {
      throw new RinglbError(
        'ERR_RING_FULL',
        seedMessage(`that ring holds at most ${ring.capacity} replicas and there are ${this.#replicas.size}`),
      );
    }
    const slowStartMs = this.#options.slowStartMs ?? 0;
    if (!ring.weighted && slowStartMs > 0) throw noSlowStartError(slowStartMs);
    const weighted = this.#records().filter((r) => r.weight !== 1);
    if (!ring.weighted && weighted.length > 0) {
      throw new RinglbError(
        'ERR_INVALID_BODY',
        seedMessage(
          `the classic ring has no weights, and ${weighted.map((r) => `'${r.spec.name}' has weight ${r.weight}`).join(', ')}: set them to 1 first (PUT /replicas/<name> {"weight":1})`,
        ),
      );
    }
  }

  /** Refuses weights where the ring in force has none. */
  checkWeights(weights: Readonly<Record<string, number>> | undefined): void {
    if (weights !== undefined && !this.#options.weighted) throw noWeightsError();
  }

  /** What setting a replica's weight would do (the change itself goes through the desired set); changes nothing. */
  previewWeight(name: string, weight: number): Promise<ChangePreview> {
    return this.#queue.run(async () => {
      this.#weighable(name);
      const routes = this.#routes().map((route) => (route.name === name ? { ...route, weight } : route));
      return this.#preview(
        this.#options.buildRing,
        routes,
        this.#records().map((r) => r.spec),
        {},
      );
    });
  }

  /** The replica's configured weight, or undefined when there is no such replica. */
  weightOf(name: string): number | undefined {
    return this.#replicas.get(name)?.weight;
  }

  #weighable(name: string): ReplicaRecord {
    this.#assertOpen();
    if (!this.#options.weighted) throw noWeightsError();
    const record = this.#replicas.get(name);
    if (!record) {
      throw new RinglbError('ERR_UNKNOWN_HOSTNAME', seedMessage(`hostname '${name}' is not a replica`), 404);
    }
    return record;
  }

  /**
   * Switches the ring algorithm or its settings live: the new ring is built and swapped in whole.
   * Resolves with the fraction of the key space that moved; refused if the replicas do not fit.
   */
  useRing(ring: RingChoice): Promise<number> {
    return this.#queue.run(async () => {
      this.#assertOpen();
      this.#assertFits(ring);
      const previous = this.#options;
      this.#options = {
        ...previous,
        buildRing: ring.buildRing,
        capacity: ring.capacity,
        weighted: ring.weighted,
      };
      try {
        return this.#rebuild('ring settings');
      } catch (error) {
        this.#options = previous;
        throw error;
      }
    });
  }

  /** The most replicas the ring in force can hold (it changes with `useRing`). */
  get capacity(): number {
    return this.#options.capacity;
  }

  /**
   * The reconciler's one entry: makes the replicas wanted exactly `specs` (the desired set, from
   * whichever store holds it). Replicas no longer wanted leave the ring, drain and are stopped; new
   * ones are started. One that fails to start is down and replaced like any failure, unless its
   * name is in `failFast`: then it is dropped and reported in `failed`, for the caller to undo the
   * change that asked for it (an `/add` fails whole, as the seed's did). Resolves with the fraction
   * of the key space that moved.
   */
  applyDesired(
    specs: readonly ReplicaSpec[],
    failFast: ReadonlySet<string> = new Set(),
    weights?: Readonly<Record<string, number>>,
  ): Promise<{ moved: number; failed: Map<string, Error> }> {
    return this.#queue.run(async () => {
      const failed = new Map<string, Error>();
      if (this.#closed) return { moved: 0, failed };
      const before = this.#table.ring;
      // The desired set's weights (undefined: a store that keeps none, so weights stay as they are).
      const reweighted = [...this.#replicas.values()].filter(
        (r) => weights !== undefined && (weights[r.spec.name] ?? 1) !== r.weight,
      );
      for (const record of reweighted) record.weight = weights![record.spec.name] ?? 1;
      if (reweighted.length > 0) this.#rebuild(`${reweighted.map((r) => r.spec.name).join(', ')} weight`);
      const wanted = new Map(specs.map((spec) => [spec.name, spec]));
      const leaving = [...this.#replicas.values()].filter((r) => !sameSpec(wanted.get(r.spec.name), r.spec));
      for (const record of leaving) {
        this.#setState(record, 'draining', 'no longer wanted');
        this.#replicas.delete(record.spec.name);
      }
      if (leaving.length > 0) this.#rebuild('replicas removed');
      const drain = this.#options.drain;
      if (drain) await Promise.all(leaving.map((r) => (r.running ? drain(r.running.origin) : undefined)));
      await Promise.all(leaving.map((r) => this.#options.provider.stop(r.spec.name)));
      for (const record of leaving) this.#setState(record, undefined, 'stopped');
      const joining = specs
        .filter((spec) => !this.#replicas.has(spec.name))
        .map((spec) => this.#newRecord(spec, weights?.[spec.name]));
      const started = await Promise.allSettled(joining.map((record) => this.#launch(record)));
      const dropped: ReplicaRecord[] = [];
      started.forEach((result, i) => {
        const record = joining[i]!;
        if (result.status === 'fulfilled' || this.#replicas.get(record.spec.name) !== record) return;
        const reason = (result.reason as Error).message;
        if (failFast.has(record.spec.name)) {
          failed.set(record.spec.name, result.reason as Error);
          this.#replicas.delete(record.spec.name);
          this.#setState(record, undefined, `start failed: ${reason}`);
          dropped.push(record);
          return;
        }
        this.#setState(record, 'down', `start failed: ${reason}`);
        record.failedAt = Date.now();
        this.#scheduleReplace(record, 500);
      });
      await Promise.all(dropped.map((record) => this.#options.provider.stop(record.spec.name)));
      if (joining.length > dropped.length) this.#rebuild('replicas added');
      const moved = movedFraction(before, this.#table.ring);
      const { logger } = this.#options;
      const added = joining.filter((r) => !failed.has(r.spec.name)).map((r) => r.spec.name);
      const removed = leaving.map((r) => r.spec.name);
      if (removed.length > 0)
        logger.info(
          { removed, n: removed.length, remaining: this.#replicas.size, moved },
          'replicas removed',
        );
      if (added.length > 0)
        logger.info({ added, n: added.length, replicas: this.#replicas.size, moved }, 'replicas added');
      return { moved, failed };
    });
  }

  /**
   * One pass of the reconcile loop: what the provider reports against what is wanted. A wanted
   * replica the provider no longer runs is down (replaced like any failure, even if its exit went
   * unnoticed); a replica the provider runs that nobody wants any more is stopped. Heartbeats and
   * process exits drive the same transitions between passes; this pass catches what they missed.
   */
  reconcile(): Promise<void> {
    if (this.#closed || this.#options.provider.status?.().available === false) return Promise.resolve();
    const running = new Map(this.#options.provider.list().map((replica) => [replica.spec.name, replica]));
    for (const record of this.#replicas.values()) {
      const now = running.get(record.spec.name);
      // An engine that replaces members itself may have done so unseen: follow it.
      if (now && this.#options.provider.onReplaced && record.running?.instance !== now.instance)
        this.#follow(now);
      if ((record.state !== 'healthy' && record.state !== 'ejected') || !record.running) continue;
      if (now?.instance === record.running.instance) continue;
      this.reportDown(
        { name: record.spec.name, origin: record.running.origin, instance: record.running.instance },
        `${this.#options.provider.kind} no longer runs it`,
      );
    }
    return this.#queue.run(async () => {
      const orphans = this.#options.provider.list().filter((r) => !this.#replicas.has(r.spec.name));
      for (const orphan of orphans) {
        this.#options.logger.warn(
          { replica: orphan.spec.name },
          'stopping a replica that is no longer wanted',
        );
        await this.#options.provider.stop(orphan.spec.name);
      }
    });
  }

  /**
   * The engine runs a member somewhere new by itself (a Swarm task replaced in its slot): the record
   * follows it there, out of the ring until it answers `rise` heartbeats, as an unhealthy member.
   */
  #follow(replica: RunningReplica): void {
    const record = this.#replicas.get(replica.spec.name);
    if (this.#closed || !record?.running || record.running.instance === replica.instance) return;
    if (record.state === 'starting' || record.state === 'draining') return;
    const inRing = record.state === 'healthy';
    record.running = replica;
    this.#options.logger.info(
      { replica: replica.spec.name, origin: replica.origin },
      'replica runs anew: checked before it is routed to',
    );
    this.#setState(
      record,
      'unhealthy',
      `${this.#options.provider.kind} runs it anew at ${replica.origin}; checked until it answers`,
    );
    if (inRing) this.#rebuild(`${replica.spec.name} runs anew`);
  }

  /**
   * Origins found not answering just now (the start's own checks), and why: a member whose life is
   * not ours attached there next is unhealthy at once (kept, checked, taken in once it answers),
   * not given a first check of its own to wait for while the others could serve.
   */
  notAnswering(origins: ReadonlyMap<string, string>): void {
    for (const [origin, reason] of origins) this.#notAnswering.set(origin, reason);
  }

  heartbeatTargets(): HeartbeatTarget[] {
    const targets: HeartbeatTarget[] = [];
    for (const record of this.#replicas.values()) {
      if ((record.state === 'healthy' || record.state === 'unhealthy') && record.running) {
        targets.push({
          name: record.spec.name,
          origin: record.running.origin,
          instance: record.running.instance,
          ...(record.state === 'unhealthy' ? { unhealthy: true } : {}),
        });
      }
    }
    return targets;
  }

  /** An unhealthy member answered its heartbeats again: back into the ring. */
  reportUp(target: HeartbeatTarget): void {
    const record = this.#replicas.get(target.name);
    if (!record || record.state !== 'unhealthy' || record.running?.instance !== target.instance) return;
    this.#setState(record, 'healthy', 'answers its heartbeats again');
    this.#rebuild(`${target.name} answers again`);
  }

  /** A replica failed (heartbeat or process exit): out of the ring at once, then replaced. */
  reportDown(target: HeartbeatTarget, reason: string): void {
    const { name } = target;
    const record = this.#replicas.get(name);
    if (!record || record.running?.instance !== target.instance) return;
    if (record.state !== 'healthy' && record.state !== 'ejected') return;
    if (this.#options.provider.external) {
      // Nothing to replace: the member stays, out of the ring, until it answers again.
      this.#setState(record, 'unhealthy', `${reason}; kept and checked until it answers`);
      this.#rebuild(`${name} unhealthy`);
      return;
    }
    const now = Date.now();
    record.failedAt = now;
    record.failures = [...record.failures.filter((t) => now - t < FLAP_WINDOW_MS), now];
    // A replica that keeps dying is replaced with growing delays rather than in a tight loop.
    const flaps = record.failures.length - 1;
    const delayMs = flaps === 0 ? 0 : Math.min(30_000, 500 * 2 ** (flaps - 1));
    this.#setState(record, 'down', delayMs > 0 ? `${reason}; replacing in ${delayMs} ms` : reason);
    this.#rebuild(`${name} down`);
    this.#scheduleReplace(record, delayMs);
  }

  /**
   * Passive health saw a replica fail requests: it leaves the ring for a while (longer each time),
   * unless that would put more than the allowed share of replicas out at once. Returns whether it
   * was ejected.
   */
  eject(name: string, reason: string): boolean {
    const record = this.#replicas.get(name);
    if (!record || record.state !== 'healthy' || !record.running) return false;
    const policy = this.#options.ejection ?? DEFAULT_EJECTION;
    const ejected = [...this.#replicas.values()].filter((r) => r.state === 'ejected').length;
    if (ejected + 1 > Math.floor(policy.maxShare * this.#replicas.size)) {
      this.#options.logger.warn(
        { replica: name, reason, ejected },
        'not ejecting: too many replicas are out already',
      );
      return false;
    }
    record.ejections++;
    const forMs = Math.min(300_000, policy.baseMs * 2 ** (record.ejections - 1));
    this.#setState(record, 'ejected', `passive health: ${reason}; out for ${forMs} ms`);
    this.#rebuild(`${name} ejected`);
    const instance = record.running.instance;
    const timer = setTimeout(() => void this.#readmit(record, instance, policy), forMs);
    timer.unref();
    return true;
  }

  /** After an ejection: back into the ring once `rise` heartbeats in a row succeed. */
  async #readmit(record: ReplicaRecord, instance: number, policy: EjectionPolicy): Promise<void> {
    let successes = 0;
    let failures = 0;
    while (!this.#closed && record.state === 'ejected' && record.running?.instance === instance) {
      const reason = await this.#options.probe.check(record.running.origin);
      if (reason === null) {
        failures = 0;
        if (++successes >= policy.rise) {
          this.#setState(record, 'healthy', `${policy.rise} heartbeats in a row after an ejection`);
          this.#rebuild(`${record.spec.name} back from ejection`);
          return;
        }
      } else {
        successes = 0;
        if (++failures >= policy.rise) {
          this.reportDown({ name: record.spec.name, origin: record.running.origin, instance }, reason);
          return;
        }
      }
      await sleep(policy.intervalMs);
    }
  }

  /**
   * Takes in replicas the provider found running from an earlier run of the balancer, under their
   * names and numbers. One that does not answer its heartbeat is replaced like any failed replica.
   */
  adopt(replicas: readonly RunningReplica[]): Promise<void> {
    return this.#queue.run(async () => {
      this.#assertOpen();
      const records = replicas.map((running) => {
        const record = this.#newRecord(running.spec);
        record.running = running;
        return record;
      });
      await Promise.all(
        records.map(async (record) => {
          const reason = await this.#awaitHeartbeat(record.running!.origin, 3_000);
          if (reason === null) {
            this.#setState(record, 'healthy', 'adopted');
          } else {
            this.#setState(record, 'down', `adopted but unhealthy: ${reason}`);
            record.failedAt = Date.now();
            this.#options.logger.warn(
              { replica: record.spec.name, reason },
              'adopted replica is not healthy',
            );
            this.#scheduleReplace(record, 0);
          }
        }),
      );
      this.#rebuild('replicas adopted');
      if (records.length > 0) this.#options.logger.info({ adopted: this.names() }, 'replicas adopted');
    });
  }

  #scheduleReplace(record: ReplicaRecord, delayMs: number): void {
    const timer = setTimeout(() => void this.#queue.run(() => this.#replace(record)), delayMs);
    timer.unref();
  }

  async #replace(record: ReplicaRecord): Promise<void> {
    if (this.#closed || this.#replicas.get(record.spec.name) !== record || record.state !== 'down') return;
    record.replaceAttempts++;
    try {
      await this.#options.provider.stop(record.spec.name, { force: true });
      await this.#launch(record);
      this.replacements++;
      const tookMs = record.failedAt === undefined ? undefined : Date.now() - record.failedAt;
      record.replaceAttempts = 0;
      this.#options.telemetry?.replacement(record.spec.name);
      this.#rebuild(`${record.spec.name} replaced`);
      this.#options.logger.info(
        { replica: record.spec.name, tookMs },
        'replica replaced and back in the ring',
      );
    } catch (error) {
      this.#setState(record, 'down', `replacement failed: ${(error as Error).message}`);
      const delayMs = Math.min(30_000, 250 * 2 ** record.replaceAttempts);
      this.#options.logger.error(
        { replica: record.spec.name, err: (error as Error).message, retryInMs: delayMs },
        'replacement failed',
      );
      this.#scheduleReplace(record, delayMs);
    }
  }

  /**
   * Starts the replica and waits for its first good heartbeat; marks it healthy (ring not rebuilt).
   * A member whose life is not ours (`provider.external`) gets one heartbeat, answered within
   * `FIRST_CHECK_MS` (or `settleMs` to answer one), unless it was found not answering just now
   * (`notAnswering`): if it does not answer it is unhealthy, kept and checked, rather than a failure.
   */
  async #launch(record: ReplicaRecord): Promise<void> {
    this.#setState(record, 'starting', record.running ? 'replacing' : 'starting');
    record.running = await this.#options.provider.start(record.spec);
    if (this.#options.provider.external) {
      const settleMs = settleLeftMs(this.#options.provider.settleMs ?? 0, record.running.since, Date.now());
      const known = this.#notAnswering.get(record.running.origin);
      this.#notAnswering.delete(record.running.origin);
      const reason =
        known ??
        (settleMs > 0
          ? await this.#awaitHeartbeat(record.running.origin, settleMs)
          : await firstAnswer(this.#options.probe.check(record.running.origin), FIRST_CHECK_MS));
      if (this.#replicas.get(record.spec.name) !== record) return;
      if (reason === null) this.#setState(record, 'healthy', 'answered its first heartbeat');
      else
        this.#setState(record, 'unhealthy', `no answer to its first heartbeat (${reason}); kept and checked`);
      return;
    }
    const reason = await this.#awaitHeartbeat(record.running.origin, this.#options.readyTimeoutMs ?? 10_000);
    if (reason !== null) {
      await this.#options.provider.stop(record.spec.name, { force: true });
      throw new Error(`replica "${record.spec.name}" never answered its heartbeat (${reason})`);
    }
    if (this.#replicas.get(record.spec.name) === record) {
      this.#setState(record, 'healthy', 'answered its first heartbeat');
    }
  }

  /** Null once the origin answers a heartbeat, or the last reason it did not within the time. */
  async #awaitHeartbeat(origin: string, timeoutMs: number): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    let reason: string | null = 'not checked';
    while (Date.now() < deadline) {
      reason = await this.#options.probe.check(origin);
      if (reason === null) break;
      await sleep(50);
    }
    return reason;
  }

  #newRecord(spec: ReplicaSpec, weight = 1): ReplicaRecord {
    const record: ReplicaRecord = {
      spec,
      state: 'starting',
      running: undefined,
      failedAt: undefined,
      replaceAttempts: 0,
      failures: [],
      ejections: 0,
      weight,
      ramp: undefined,
    };
    this.#replicas.set(spec.name, record);
    this.#options.telemetry?.replicaState(spec.name, undefined, 'starting', 'added');
    return record;
  }

  /** Every state change goes through here, so each transition is reported exactly once. */
  #setState(record: ReplicaRecord, to: ReplicaState | undefined, reason: string): void {
    const from = record.state;
    if (from === to) return;
    if (to !== undefined) record.state = to;
    this.#options.telemetry?.replicaState(record.spec.name, from, to, reason);
    if (to === 'healthy') this.#startRamp(record);
    else this.#stopRamp(record);
  }

  /** The slow-start ramp, when it is on. */
  get #ramp(): Ramp | undefined {
    return rampOf(this.#options.slowStartMs ?? 0);
  }

  /**
   * The fraction of its weight a replica entering the ring now starts with: the ramp's first step
   * when others already serve (a ring being filled from nothing has no one to spare), else 1.
   */
  #entryFraction(): number {
    const ramp = this.#ramp;
    return ramp && this.#table.routes.length > 0 ? rampFraction(ramp, 0) : 1;
  }

  /** A replica entered the ring: it ramps up, a step at a time, each step a ring change. */
  #startRamp(record: ReplicaRecord): void {
    this.#stopRamp(record);
    const ramp = this.#ramp;
    if (!ramp || this.#entryFraction() === 1) return;
    const since = Date.now();
    record.ramp = { since, step: 0, timer: this.#nextStep(record, ramp, since, 1) };
  }

  #nextStep(record: ReplicaRecord, ramp: Ramp, since: number, step: number): NodeJS.Timeout {
    const timer = setTimeout(() => this.#stepRamp(record, ramp), since + step * ramp.stepMs - Date.now());
    timer.unref();
    return timer;
  }

  /** The next step of a ramp; the last one gives the replica its full weight. */
  #stepRamp(record: ReplicaRecord, ramp: Ramp): void {
    const current = record.ramp;
    if (this.#closed || !current || this.#replicas.get(record.spec.name) !== record) return;
    // The timer was set for the step after this one, and may fire a little before the wall clock
    // says so: it always moves the ramp on by at least that step, never repeats one.
    const step = Math.max(current.step + 1, rampStep(ramp, Date.now() - current.since));
    const name = record.spec.name;
    if (step >= ramp.steps - 1) {
      record.ramp = undefined;
      this.#rebuild(`${name} slow start done: full weight ${record.weight}`);
      return;
    }
    current.step = step;
    current.timer = this.#nextStep(record, ramp, current.since, step + 1);
    const percent = Math.round(rampFraction(ramp, step) * 100);
    this.#rebuild(`${name} slow start: ${percent} % of weight ${record.weight}`);
  }

  #stopRamp(record: ReplicaRecord): void {
    if (record.ramp) clearTimeout(record.ramp.timer);
    record.ramp = undefined;
  }

  /** The fraction of its weight a replica has now: below 1 while it ramps up after entering. */
  #rampFractionOf(record: ReplicaRecord): number {
    const ramp = this.#ramp;
    return ramp && record.ramp ? rampFraction(ramp, record.ramp.step) : 1;
  }

  #records(): ReplicaRecord[] {
    return [...this.#replicas.values()].sort((a, b) => a.spec.number - b.spec.number);
  }

  /** The routes of the healthy replicas: what the ring is built from. */
  #routes(): Route[] {
    return this.#records()
      .filter((r) => r.state === 'healthy' && r.running)
      .map((r) => ({
        name: r.spec.name,
        number: r.spec.number,
        origin: r.running!.origin,
        weight: r.weight * this.#rampFractionOf(r),
      }));
  }

  /** Builds and swaps in the ring of the healthy replicas; returns the fraction of keys that moved. */
  #rebuild(reason: string): number {
    const before = this.#table.ring;
    const routes = this.#routes();
    this.#table = buildRoutingTable(this.#options.buildRing, routes);
    const moved = movedFraction(before, this.#table.ring);
    this.#options.telemetry?.membershipChange(reason, moved);
    for (const listener of this.#listeners) listener(this.#table);
    return moved;
  }

  #assertOpen(): void {
    if (this.#closed)
      throw new RinglbError('ERR_SHUTTING_DOWN', seedMessage('the balancer is shutting down'), 503);
  }

  /**
   * The balancer is shutting down: from now on no change is accepted and nothing is replaced (its
   * replicas may be exiting with it). `close` stops them afterwards.
   */
  freeze(): void {
    this.#closed = true;
  }

  /** Stops every replica; no change is accepted afterwards. */
  close(): Promise<void> {
    return this.#queue.run(async () => {
      this.#closed = true;
      // A cluster closed before it had members (a start whose checks failed) changes no ring.
      const had = this.#replicas.size > 0;
      this.#replicas.clear();
      if (had) this.#rebuild('shutting down');
      await this.#options.provider.close();
    });
  }
}

/** Whether a wanted spec is the replica a record runs (same number, same server). */
function sameSpec(wanted: ReplicaSpec | undefined, running: ReplicaSpec): boolean {
  return wanted?.number === running.number && wanted.backend === running.backend;
}
