import type { Logger } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { RinglbError, seedMessage } from '../core/errors.js';
import type { HealthSink, HeartbeatTarget } from '../health/heartbeat.js';
import type { HeartbeatProbe } from '../health/probe.js';
import type { Provider, ReplicaSpec, RunningReplica } from '../providers/provider.js';
import type { Telemetry } from '../ops/telemetry.js';
import { movedFraction } from '../ring/moved.js';
import type { BuildRing, Ring } from '../ring/ring.js';
import { defaultReplicaName, lowestFreeNumber } from './numbering.js';
import { SerialQueue } from './serial-queue.js';

export type ReplicaState = 'starting' | 'healthy' | 'down' | 'draining';

interface ReplicaRecord {
  readonly spec: ReplicaSpec;
  state: ReplicaState;
  running: RunningReplica | undefined;
  /** When the replica was last seen to fail, for measuring how long replacement takes. */
  failedAt: number | undefined;
  replaceAttempts: number;
}

/** Where a ring member is reached; `routes[i]` belongs to `ring.members[i]`. */
export interface Route {
  readonly name: string;
  readonly number: number;
  readonly origin: string;
}

export interface RoutingTable {
  readonly ring: Ring;
  readonly routes: readonly Route[];
  /** In-flight requests per member (indexed like `routes`), kept by the data path. */
  readonly loads: Int32Array;
}

export interface ClusterOptions {
  readonly provider: Provider;
  readonly buildRing: BuildRing;
  /** The most replicas the ring can hold. */
  readonly capacity: number;
  readonly probe: HeartbeatProbe;
  readonly logger: Logger;
  /** How long a new or replacement replica may take to answer its first heartbeat. */
  readonly readyTimeoutMs?: number;
  /** Told the moved fraction of every ring change. */
  readonly telemetry?: Telemetry;
}

export interface AddRequest {
  readonly n: number;
  readonly hostnames: readonly string[];
}

/**
 * Owns membership: the replicas the user wants (names and numbers), their states, and the ring built
 * from the healthy ones. Every change goes through one serial queue; the ring is rebuilt off the
 * request path and swapped in whole.
 */
export class Cluster implements HealthSink {
  /** Replaced whole by `useRing` (ring builder and capacity); read afresh by every change. */
  #options: ClusterOptions;
  readonly #replicas = new Map<string, ReplicaRecord>();
  readonly #queue = new SerialQueue();
  readonly #listeners: ((table: RoutingTable) => void)[] = [];
  #table: RoutingTable;
  #closed = false;
  replacements = 0;

  constructor(options: ClusterOptions) {
    this.#options = options;
    this.#table = { ring: options.buildRing([], new Int32Array(0)), routes: [], loads: new Int32Array(0) };
    options.provider.onExit((replica, reason) =>
      this.reportDown(
        { name: replica.spec.name, origin: replica.origin, instance: replica.instance },
        `process ${reason}`,
      ),
    );
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

  /** Every replica with its state, by number. */
  describe(): { name: string; number: number; state: ReplicaState; origin: string | undefined }[] {
    return this.#records().map((r) => ({
      name: r.spec.name,
      number: r.spec.number,
      state: r.state,
      origin: r.running?.origin,
    }));
  }

  /** Adds replicas; resolves with the fraction of the key space that moved. */
  add(request: AddRequest): Promise<number> {
    return this.#queue.run(async () => {
      this.#assertOpen();
      const taken = new Set(this.#replicas.keys());
      const seen = new Set<string>();
      for (const name of request.hostnames) {
        if (taken.has(name) || seen.has(name)) {
          throw new RinglbError(
            'ERR_DUPLICATE_HOSTNAME',
            seedMessage(`hostname '${name}' is already in use`),
          );
        }
        seen.add(name);
      }
      const room = this.#options.capacity - this.#replicas.size;
      if (request.n > room) {
        throw new RinglbError(
          'ERR_RING_FULL',
          seedMessage(
            `cannot add ${request.n} replicas: the ring holds at most ${this.#options.capacity} and has ${this.#replicas.size}`,
          ),
        );
      }
      const numbers = new Set([...this.#replicas.values()].map((r) => r.spec.number));
      const specs: ReplicaSpec[] = [];
      for (let k = 0; k < request.n; k++) {
        const number = lowestFreeNumber(numbers);
        numbers.add(number);
        const generated = k >= request.hostnames.length;
        const name = generated ? defaultReplicaName(number) : request.hostnames[k]!;
        if (generated && (taken.has(name) || seen.has(name))) {
          throw new RinglbError(
            'ERR_DUPLICATE_HOSTNAME',
            seedMessage(`hostname '${name}' is already in use`),
          );
        }
        seen.add(name);
        specs.push({ number, name });
      }
      const records = specs.map((spec) => this.#newRecord(spec));
      const started = await Promise.allSettled(records.map((record) => this.#launch(record)));
      const failure = started.find((result) => result.status === 'rejected');
      if (failure) {
        // All or nothing: a failed add leaves membership as it was.
        for (const record of records) this.#replicas.delete(record.spec.name);
        await Promise.all(records.map((record) => this.#options.provider.stop(record.spec.name)));
        const reason = (failure as PromiseRejectedResult).reason as Error;
        throw new RinglbError(
          'ERR_REPLICA_START',
          seedMessage(`could not start replica: ${reason.message}`),
          500,
        );
      }
      const moved = this.#rebuild('add');
      this.#options.logger.info(
        { added: specs.map((s) => s.name), n: this.#replicas.size, moved },
        'replicas added',
      );
      return moved;
    });
  }

  /** Removes replicas; resolves with the fraction of the key space that moved. */
  remove(n: number, hostnames: readonly string[]): Promise<number> {
    return this.#queue.run(async () => {
      this.#assertOpen();
      const chosen = new Set<string>();
      for (const name of hostnames) {
        if (!this.#replicas.has(name)) {
          throw new RinglbError('ERR_UNKNOWN_HOSTNAME', seedMessage(`hostname '${name}' is not a replica`));
        }
        if (chosen.has(name)) {
          throw new RinglbError('ERR_DUPLICATE_HOSTNAME', seedMessage(`hostname '${name}' is listed twice`));
        }
        chosen.add(name);
      }
      if (n > this.#replicas.size) {
        throw new RinglbError(
          'ERR_TOO_MANY_REMOVALS',
          seedMessage(`cannot remove ${n} replicas: there are only ${this.#replicas.size}`),
        );
      }
      const rest = [...this.#replicas.keys()].filter((name) => !chosen.has(name));
      while (chosen.size < n) {
        const [name] = rest.splice(Math.floor(Math.random() * rest.length), 1);
        chosen.add(name!);
      }
      // Out of the ring first, so no new request reaches a replica that is being stopped.
      for (const name of chosen) {
        this.#replicas.get(name)!.state = 'draining';
        this.#replicas.delete(name);
      }
      const moved = this.#rebuild('remove');
      await Promise.all([...chosen].map((name) => this.#options.provider.stop(name)));
      this.#options.logger.info({ removed: [...chosen], n: this.#replicas.size, moved }, 'replicas removed');
      return moved;
    });
  }

  /**
   * Switches the ring algorithm or its settings live: the new ring is built and swapped in whole.
   * Resolves with the fraction of the key space that moved; refused if the replicas do not fit.
   */
  useRing(ring: { buildRing: BuildRing; capacity: number }): Promise<number> {
    return this.#queue.run(async () => {
      this.#assertOpen();
      if (this.#replicas.size > ring.capacity) {
        throw new RinglbError(
          'ERR_RING_FULL',
          seedMessage(
            `that ring holds at most ${ring.capacity} replicas and there are ${this.#replicas.size}`,
          ),
        );
      }
      const previous = this.#options;
      this.#options = { ...previous, buildRing: ring.buildRing, capacity: ring.capacity };
      try {
        return this.#rebuild('ring settings');
      } catch (error) {
        this.#options = previous;
        throw error;
      }
    });
  }

  heartbeatTargets(): HeartbeatTarget[] {
    const targets: HeartbeatTarget[] = [];
    for (const record of this.#replicas.values()) {
      if (record.state === 'healthy' && record.running) {
        targets.push({
          name: record.spec.name,
          origin: record.running.origin,
          instance: record.running.instance,
        });
      }
    }
    return targets;
  }

  /** A replica failed (heartbeat or process exit): out of the ring at once, then replaced. */
  reportDown(target: HeartbeatTarget, reason: string): void {
    const { name } = target;
    const record = this.#replicas.get(name);
    if (!record || record.running?.instance !== target.instance || record.state !== 'healthy') return;
    record.state = 'down';
    record.failedAt = Date.now();
    this.#rebuild('replica down');
    this.#options.logger.warn({ replica: name, reason }, 'replica down; taken out of the ring');
    this.#scheduleReplace(record, 0);
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
      this.#rebuild('replica replaced');
      this.#options.logger.info(
        { replica: record.spec.name, tookMs },
        'replica replaced and back in the ring',
      );
    } catch (error) {
      record.state = 'down';
      const delayMs = Math.min(30_000, 250 * 2 ** record.replaceAttempts);
      this.#options.logger.error(
        { replica: record.spec.name, err: (error as Error).message, retryInMs: delayMs },
        'replacement failed',
      );
      this.#scheduleReplace(record, delayMs);
    }
  }

  /** Starts the replica and waits for its first good heartbeat; marks it healthy (ring not rebuilt). */
  async #launch(record: ReplicaRecord): Promise<void> {
    record.state = 'starting';
    record.running = await this.#options.provider.start(record.spec);
    const deadline = Date.now() + (this.#options.readyTimeoutMs ?? 10_000);
    let reason: string | null = 'not checked';
    while (Date.now() < deadline) {
      reason = await this.#options.probe.check(record.running.origin);
      if (reason === null) break;
      await sleep(50);
    }
    if (reason !== null) {
      await this.#options.provider.stop(record.spec.name, { force: true });
      throw new Error(`replica "${record.spec.name}" never answered its heartbeat (${reason})`);
    }
    if (this.#replicas.get(record.spec.name) === record) record.state = 'healthy';
  }

  #newRecord(spec: ReplicaSpec): ReplicaRecord {
    const record: ReplicaRecord = {
      spec,
      state: 'starting',
      running: undefined,
      failedAt: undefined,
      replaceAttempts: 0,
    };
    this.#replicas.set(spec.name, record);
    return record;
  }

  #records(): ReplicaRecord[] {
    return [...this.#replicas.values()].sort((a, b) => a.spec.number - b.spec.number);
  }

  /** Builds and swaps in the ring of the healthy replicas; returns the fraction of keys that moved. */
  #rebuild(reason: string): number {
    const healthy = this.#records().filter((r) => r.state === 'healthy' && r.running);
    const origins = new Map(healthy.map((r) => [r.spec.name, r.running!.origin]));
    const loads = new Int32Array(healthy.length);
    const ring = this.#options.buildRing(
      healthy.map((r) => r.spec),
      loads,
    );
    const routes = ring.members.map((m) => ({
      name: m.name,
      number: m.number,
      origin: origins.get(m.name)!,
    }));
    const moved = movedFraction(this.#table.ring, ring);
    this.#table = { ring, routes, loads };
    for (const listener of this.#listeners) listener(this.#table);
    this.#options.telemetry?.membershipChange(reason, moved);
    this.#options.logger.info({ reason, replicas: ring.members.length, moved }, 'ring changed');
    return moved;
  }

  #assertOpen(): void {
    if (this.#closed)
      throw new RinglbError('ERR_SHUTTING_DOWN', seedMessage('the balancer is shutting down'), 503);
  }

  /** Stops every replica; no change is accepted afterwards. */
  close(): Promise<void> {
    return this.#queue.run(async () => {
      this.#closed = true;
      this.#replicas.clear();
      this.#rebuild('shutdown');
      await this.#options.provider.close();
    });
  }
}
