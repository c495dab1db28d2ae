import type { Logger } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { RinglbError, seedMessage } from '../core/errors.js';
import type { HealthSink, HeartbeatTarget } from '../health/heartbeat.js';
import type { HeartbeatProbe } from '../health/probe.js';
import { noTelemetry, type Telemetry } from '../ops/telemetry.js';
import type { Provider, ReplicaSpec, RunningReplica } from '../providers/provider.js';
import { movedRatio } from '../ring/moved-keys.js';
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
  /** Told of every state transition, replacement and ring change (metrics, dashboard, logs). */
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
  readonly #options: ClusterOptions;
  readonly #replicas = new Map<string, ReplicaRecord>();
  readonly #queue = new SerialQueue();
  readonly #listeners: ((table: RoutingTable) => void)[] = [];
  #table: RoutingTable;
  #closed = false;
  replacements = 0;
  readonly #telemetry: Telemetry;

  constructor(options: ClusterOptions) {
    this.#options = options;
    this.#telemetry = options.telemetry ?? noTelemetry;
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

  add(request: AddRequest): Promise<void> {
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
        const reason = (failure as PromiseRejectedResult).reason as Error;
        for (const record of records) {
          this.#replicas.delete(record.spec.name);
          this.#setState(record, undefined, `add failed: ${reason.message}`);
        }
        await Promise.all(records.map((record) => this.#options.provider.stop(record.spec.name)));
        throw new RinglbError(
          'ERR_REPLICA_START',
          seedMessage(`could not start replica: ${reason.message}`),
          500,
        );
      }
      this.#rebuild('replicas added');
      this.#options.logger.info(
        { added: specs.map((s) => s.name), n: this.#replicas.size },
        'replicas added',
      );
    });
  }

  remove(n: number, hostnames: readonly string[]): Promise<void> {
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
      const leaving = [...chosen].map((name) => this.#replicas.get(name)!);
      for (const record of leaving) {
        this.#setState(record, 'draining', 'removed through the control API');
        this.#replicas.delete(record.spec.name);
      }
      this.#rebuild('replicas removed');
      await Promise.all([...chosen].map((name) => this.#options.provider.stop(name)));
      for (const record of leaving) this.#setState(record, undefined, 'stopped');
      this.#options.logger.info({ removed: [...chosen], n: this.#replicas.size }, 'replicas removed');
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
    this.#setState(record, 'down', reason);
    record.failedAt = Date.now();
    this.#rebuild(`${name} down`);
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
      this.#telemetry.replacement(record.spec.name);
      const tookMs = record.failedAt === undefined ? undefined : Date.now() - record.failedAt;
      record.replaceAttempts = 0;
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

  /** Starts the replica and waits for its first good heartbeat; marks it healthy (ring not rebuilt). */
  async #launch(record: ReplicaRecord): Promise<void> {
    this.#setState(record, 'starting', 'replacing');
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
    if (this.#replicas.get(record.spec.name) === record) {
      this.#setState(record, 'healthy', 'answered its first heartbeat');
    }
  }

  /** Every state change goes through here, so each transition is reported exactly once. */
  #setState(record: ReplicaRecord, to: ReplicaState | undefined, reason: string): void {
    const from = record.state;
    if (from === to) return;
    if (to !== undefined) record.state = to;
    this.#telemetry.replicaState(record.spec.name, from, to, reason);
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
    this.#telemetry.replicaState(spec.name, undefined, 'starting', 'added');
    return record;
  }

  #records(): ReplicaRecord[] {
    return [...this.#replicas.values()].sort((a, b) => a.spec.number - b.spec.number);
  }

  #rebuild(reason: string): void {
    const before = this.#table.ring;
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
    this.#table = { ring, routes, loads };
    this.#telemetry.membershipChange(reason, movedRatio(before, ring));
    for (const listener of this.#listeners) listener(this.#table);
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
      this.#rebuild('shutting down');
      await this.#options.provider.close();
    });
  }
}
