import { setTimeout as sleep } from 'node:timers/promises';
import type { HeartbeatProbe } from '../health/probe.js';
import type { DetachedProcessProvider } from '../providers/detached-process-provider.js';
import type { Provider, ReplicaProcess, ReplicaSpec, RunningReplica } from '../providers/provider.js';
import type { LeadershipGate } from './leadership.js';
import type { EtcdStore } from './store/etcd-store.js';
import { isProcessOf, type RegistryEntry } from './store/encoding.js';

/** How long a follower waits for the leader's replacement before checking the replica it knows again. */
const RECHECK_MS = 1_000;
const START_TIMEOUT_MS = 15_000;

/**
 * The process provider of one instance in shared membership. While the leadership gate is open it
 * starts and stops replicas (detached processes on its own host, at `--advertise-host`) and records
 * them in the store's registry with that host; a follower "starts" a replica by waiting for the
 * registry to show where it runs, and stops only processes of its own that the registry no longer
 * points to (it started them while it led). A replica's `instance` is its registry revision, the
 * same on every instance, so a replacement made by the leader is seen as one everywhere.
 *
 * A pid names a process on one host only, so a leader adopts registered replicas of its own host
 * and replaces the others on its host: it cannot watch or stop a process elsewhere.
 */
export class SharedProvider implements Provider {
  readonly kind = 'process';
  readonly #local: DetachedProcessProvider;
  readonly #store: EtcdStore;
  /** The registry as last seen through the watch. */
  readonly #registry = new Map<string, RegistryEntry>();
  /** The run of each replica this instance last handed to the cluster. */
  readonly #handed = new Map<string, RunningReplica>();
  readonly #exitListeners: ((replica: RunningReplica, reason: string) => void)[] = [];
  readonly #gate: LeadershipGate;
  /** Set once `lead` has taken in the registry's replicas after the gate opened. */
  #leader = false;
  #closed = false;

  readonly #probe: HeartbeatProbe;

  constructor(local: DetachedProcessProvider, store: EtcdStore, probe: HeartbeatProbe, gate: LeadershipGate) {
    this.#local = local;
    this.#store = store;
    this.#probe = probe;
    this.#gate = gate;
    local.onExit((replica) => {
      const handed = this.#handed.get(replica.spec.name);
      if (!this.#leader || !handed) return;
      for (const listener of this.#exitListeners) listener(handed, 'process exited');
    });
  }

  get leader(): boolean {
    return this.#leader;
  }

  /** The registry as read at start, then kept current by the store's watch. */
  setRegistry(name: string, entry: RegistryEntry | undefined): void {
    if (entry) this.#registry.set(name, entry);
    else this.#registry.delete(name);
    this.#letGoIfReplaced(name);
  }

  /** A process this instance started while it led, which the leader has since replaced or removed, is stopped. */
  #letGoIfReplaced(name: string): void {
    const pid = this.#local.pidOf(name);
    if (this.#leader || pid === undefined) return;
    const entry = this.#registry.get(name);
    if (entry && isProcessOf(entry, this.#local.host) && entry.pid === pid) return;
    void this.#local.stop(name);
  }

  registry(): ReadonlyMap<string, RegistryEntry> {
    return this.#registry;
  }

  /**
   * Becomes the reconciler: takes in every registered replica whose process still runs, forgets
   * entries whose process is gone (the cluster replaces them if still wanted).
   */
  async lead(
    wanted: ReadonlyMap<string, number>,
  ): Promise<{ adopted: string[]; gone: string[]; elsewhere: string[] }> {
    if (!this.#gate.leading) return { adopted: [], gone: [], elsewhere: [] };
    this.#leader = true;
    const adopted: string[] = [];
    const gone: string[] = [];
    const elsewhere: string[] = [];
    for (const [name, entry] of this.#registry) {
      // One that is not wanted any more is adopted only to be stopped by the reconcile loop.
      const spec = { name, number: wanted.get(name) ?? 0 };
      const local = isProcessOf(entry, this.#local.host);
      if (
        local &&
        (this.#local.pidOf(name) !== undefined || this.#local.adopt(spec, entry.origin, entry.pid))
      ) {
        adopted.push(name);
        continue;
      }
      (local ? gone : elsewhere).push(name);
      if (!wanted.has(name)) await this.#store.unregister(name).catch(() => undefined);
    }
    return { adopted, gone, elsewhere };
  }

  /** Leadership lost: this instance stops starting and stopping replicas. */
  follow(): void {
    this.#leader = false;
    // A leader cut off from etcd learns that its lease ran out only after its watch has caught up
    // with the new leader's replacements: those were seen while it still led, so act on them now.
    for (const replica of this.#local.list()) this.#letGoIfReplaced(replica.spec.name);
  }

  async start(spec: ReplicaSpec): Promise<RunningReplica> {
    const previous = this.#handed.get(spec.name)?.instance ?? 0;
    const deadline = Date.now() + START_TIMEOUT_MS;
    let recheckedAt = Date.now();
    while (!this.#closed && Date.now() < deadline) {
      const entry = this.#registry.get(spec.name);
      if (this.#leader) {
        // A registered process this instance has not given up on yet is taken in, not duplicated.
        if (
          entry &&
          entry.revision > previous &&
          isProcessOf(entry, this.#local.host) &&
          this.#local.adopt(spec, entry.origin, entry.pid)
        ) {
          return this.#hand(spec, entry.origin, entry.revision);
        }
        const started = await this.#local.start(spec);
        try {
          const revision = await this.#store.register(
            spec.name,
            started.origin,
            started.pid,
            this.#local.host,
          );
          return this.#hand(spec, started.origin, revision);
        } catch (error) {
          await this.#local.stop(spec.name, { force: true });
          throw error;
        }
      }
      if (entry && entry.revision > previous) return this.#hand(spec, entry.origin, entry.revision);
      // A follower re-checks the run it knows after a while: it may be only its own view that failed.
      if (entry && Date.now() - recheckedAt > RECHECK_MS) {
        recheckedAt = Date.now();
        if ((await this.#probe.check(entry.origin)) === null) {
          return this.#hand(spec, entry.origin, entry.revision);
        }
      }
      await sleep(25);
    }
    throw new Error(`no instance started replica "${spec.name}" within ${START_TIMEOUT_MS} ms`);
  }

  #hand(spec: ReplicaSpec, origin: string, revision: number): RunningReplica {
    const replica = { spec, origin, instance: revision };
    this.#handed.set(spec.name, replica);
    return replica;
  }

  async stop(name: string, options: { force?: boolean } = {}): Promise<void> {
    if (!this.#leader) return;
    await this.#local.stop(name, options);
    await this.#store.unregister(name).catch(() => undefined);
  }

  /** What runs: the leader's own processes; for a follower, what the registry says. */
  list(): RunningReplica[] {
    if (this.#leader) {
      return this.#local.list().map((r) => this.#handed.get(r.spec.name) ?? r);
    }
    return [...this.#registry].map(([name, entry]) => {
      const handed = this.#handed.get(name);
      return { spec: handed?.spec ?? { name, number: 0 }, origin: entry.origin, instance: entry.revision };
    });
  }

  onExit(listener: (replica: RunningReplica, reason: string) => void): void {
    this.#exitListeners.push(listener);
  }

  /** A pid names a process of one host: only the processes this instance runs here are shown. */
  processOf(name: string): ReplicaProcess | undefined {
    return this.#local.processOf(name);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#leader = false;
    await this.#local.close();
    await this.#probe.close();
  }
}
