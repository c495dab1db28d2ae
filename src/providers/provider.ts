/**
 * Where replicas run: local child processes, Docker containers, or a fixed list of URLs. The
 * membership layer asks a provider to start and stop replicas and hears from it when one exits on
 * its own; it never knows which kind it talks to.
 */
export interface ReplicaSpec {
  readonly number: number;
  readonly name: string;
  /** For a server that already runs (static provider): its origin. */
  readonly backend?: string;
}

export interface RunningReplica {
  readonly spec: ReplicaSpec;
  /** Origin the balancer reaches the replica at, e.g. `http://127.0.0.1:40123`. */
  readonly origin: string;
  /** Distinguishes this run of the replica from an earlier one with the same name. */
  readonly instance: number;
  /**
   * When the engine started it (ms since the epoch), if it says: with `settleMs`, one that has run
   * that long already gets no more time to start listening.
   */
  readonly since?: number;
}

export interface Provider {
  readonly kind: string;
  /**
   * Whether the replicas' lives are someone else's: servers that run anyway (static) or tasks an
   * engine replaces itself (Swarm). One that does not answer is then `unhealthy` (kept, checked,
   * back in the ring once it answers) instead of being stopped and started again by the balancer.
   */
  readonly external?: boolean;
  /**
   * With `external`: how long a member just started (see `since`) may take to answer its first
   * heartbeat before it counts as unhealthy (an engine's new task needs a moment to listen); 0 or
   * none: one check.
   */
  readonly settleMs?: number;
  /** Starts the replica and resolves once it accepts connections. */
  start(spec: ReplicaSpec): Promise<RunningReplica>;
  /**
   * Stops the named replica, gracefully (then by force after a timeout) or, with `force`, at once (a
   * failed replica may be hung and would only make the graceful path wait). Resolves when it is gone.
   */
  stop(name: string, options?: { force?: boolean }): Promise<void>;
  list(): RunningReplica[];
  /** Called when a replica exits without being asked to. */
  onExit(listener: (replica: RunningReplica, reason: string) => void): void;
  /** Stops every replica this provider started (or lets them run on, where the provider says so). */
  close(): Promise<void>;
  /**
   * Replicas still running from an earlier run of the balancer, to adopt instead of starting new
   * ones (providers whose replicas outlive the balancer, like containers). Leftovers that cannot be
   * adopted (exited, duplicated, unreachable) are removed. Called once, before any `start`.
   */
  discover?(): Promise<RunningReplica[]>;
  /** Why `name` cannot name a replica here (checked before anything starts), or undefined. */
  nameProblem?(name: string): string | undefined;
  /** Why these replicas cannot be removed by name here (an engine that picks itself), or undefined. */
  removalProblem?(hostnames: readonly string[]): string | undefined;
  /**
   * Called when the engine put a new instance in a member's place by itself (Swarm's new task in
   * the slot of one that died): the member now runs there, to be checked before it is routed to.
   */
  onReplaced?(listener: (replica: RunningReplica) => void): void;
  /** Whether replicas can be started and stopped right now: a Docker daemon, say, may go away. */
  status?(): ProviderStatus;
  /** Called when the provider becomes available again after being unavailable. */
  onAvailable?(listener: () => void): void;
  /** What runs a replica, for an operator to find it (`ringlb status`, the dashboard); undefined if unknown. */
  processOf?(name: string): ReplicaProcess | undefined;
}

/** A replica's process (a local child) or container (Docker), as `ps` or `docker ps` shows it. */
export type ReplicaProcess = { readonly pid: number } | { readonly containerId: string };

/**
 * A start refused because of what was asked, not because the provider failed: a name that something
 * else holds, say. The asker can fix it, so the control API answers 409 rather than 500.
 */
export class StartRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartRefusedError';
  }
}

export interface ProviderStatus {
  readonly available: boolean;
  /** Why not, when unavailable. */
  readonly detail?: string;
}
