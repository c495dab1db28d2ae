import type { Logger } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Engine,
  EngineError,
  type EngineEvent,
  type ServiceDetails,
  type TaskDetails,
} from '../docker/engine.js';
import { runningBySlot, wantedSlots, type RunningTask } from './tasks.js';

export interface SwarmServiceOptions {
  readonly socketPath: string;
  /** The service whose tasks are the replicas (a stack's is `<stack>_<service>`). */
  readonly service: string;
  /** The network the balancer reaches tasks on; empty: the service's only network. */
  readonly network: string;
  /** How often the task list is read when no event says it changed (default 1000 ms). */
  readonly pollMs?: number;
  readonly logger: Logger;
}

/** The service as last read: its spec's replica count and version, and what its tasks say. */
export interface ServiceSnapshot {
  readonly service: ServiceDetails;
  readonly replicas: number;
  readonly tasks: readonly TaskDetails[];
  /** Slots the manager wants running. */
  readonly wanted: ReadonlySet<number>;
  /** Slots that have a running task, and where it is. */
  readonly running: ReadonlyMap<number, RunningTask>;
}

/** A problem the operator must fix (no swarm, no service): said once, at start. */
export class SwarmSetupError extends Error {
  override name = 'SwarmSetupError';
}

const CONFLICT_RETRIES = 20;
const CONVERGE_TIMEOUT_MS = 10_000;

/**
 * One Swarm service followed through the Engine API: the service and its task list, read again on
 * every container event of the service and every service event (scaled by another balancer, by
 * `docker service scale`), and every `pollMs` in case an event was missed. The desired store and
 * the provider of the swarm mode both read it, so they see the same service.
 */
export class SwarmService {
  readonly #engine: Engine;
  readonly #options: SwarmServiceOptions;
  readonly #logger: Logger;
  readonly #closing = new AbortController();
  readonly #listeners: ((snapshot: ServiceSnapshot) => void)[] = [];
  readonly #deathListeners: ((taskId: string, reason: string) => void)[] = [];
  #networkId = '';
  #snapshot: ServiceSnapshot | undefined;
  #reading: Promise<ServiceSnapshot> | undefined;
  #again = false;
  #watching: Promise<void>[] = [];
  #poller: NodeJS.Timeout | undefined;
  #problem: string | undefined;

  constructor(options: SwarmServiceOptions) {
    this.#options = options;
    this.#engine = new Engine(options.socketPath);
    this.#logger = options.logger;
  }

  get name(): string {
    return this.#options.service;
  }

  /** Why the manager cannot be reached now, or undefined. */
  get problem(): string | undefined {
    return this.#problem;
  }

  /**
   * Checks that this daemon is a swarm manager and the service exists, finds the network, reads
   * the tasks and starts following them. Throws a `SwarmSetupError` that says what to do.
   */
  async open(): Promise<void> {
    const { service, network } = this.#options;
    const swarm = await this.#engine.swarmInfo();
    if (swarm.LocalNodeState !== 'active' || !swarm.ControlAvailable) {
      throw new SwarmSetupError(
        swarm.LocalNodeState === 'active'
          ? 'this Docker daemon is a swarm worker: run the balancer on a manager node (placement constraint node.role == manager)'
          : `this Docker daemon is not in a swarm (state ${swarm.LocalNodeState}): docker swarm init, or make swarm-up`,
      );
    }
    const details = await this.#engine.inspectService(service);
    if (!details) {
      throw new SwarmSetupError(
        `no Swarm service "${service}" (docker service ls): deploy it first (make swarm-up)`,
      );
    }
    if (details.Spec.Mode?.Replicated === undefined) {
      throw new SwarmSetupError(`service "${service}" is not replicated (mode global has no replica count)`);
    }
    this.#networkId = await this.#findNetwork(details, network);
    this.#watch();
    await this.refresh();
  }

  async #findNetwork(details: ServiceDetails, wanted: string): Promise<string> {
    const ids = (details.Spec.TaskTemplate?.Networks ?? []).map((n) => n.Target);
    const named = await Promise.all(
      ids.map(async (id) => ({ id, name: await this.#engine.networkName(id) })),
    );
    const { service } = this.#options;
    if (wanted === '') {
      if (named.length === 1) return named[0]!.id;
      throw new SwarmSetupError(
        named.length === 0
          ? `service "${service}" is on no network the balancer can share: attach it to an attachable overlay network`
          : `service "${service}" is on ${named.length} networks (${named.map((n) => n.name).join(', ')}): say which one with --swarm-network`,
      );
    }
    const found = named.find((n) => n.name === wanted || n.id === wanted);
    if (!found) {
      throw new SwarmSetupError(
        `service "${service}" is not on network "${wanted}" (its networks: ${named.map((n) => n.name).join(', ') || 'none'})`,
      );
    }
    return found.id;
  }

  /** The service as last read (after `open`). */
  get snapshot(): ServiceSnapshot {
    if (!this.#snapshot) throw new Error('the Swarm service has not been read yet');
    return this.#snapshot;
  }

  onSnapshot(listener: (snapshot: ServiceSnapshot) => void): void {
    this.#listeners.push(listener);
  }

  /** Told at once when a container of the service dies, before the manager updates its task. */
  onTaskDied(listener: (taskId: string, reason: string) => void): void {
    this.#deathListeners.push(listener);
  }

  /** Reads the service and its tasks again; concurrent calls share one read (and one more after it). */
  refresh(): Promise<ServiceSnapshot> {
    if (this.#reading) {
      this.#again = true;
      return this.#reading;
    }
    this.#reading = (async () => {
      try {
        let snapshot: ServiceSnapshot;
        do {
          this.#again = false;
          snapshot = await this.#read();
        } while (this.#again);
        return snapshot;
      } finally {
        this.#reading = undefined;
      }
    })();
    return this.#reading;
  }

  async #read(): Promise<ServiceSnapshot> {
    const { service } = this.#options;
    let details: ServiceDetails | undefined;
    let tasks: TaskDetails[];
    try {
      [details, tasks] = await Promise.all([
        this.#engine.inspectService(service),
        this.#engine.listTasks(service),
      ]);
    } catch (error) {
      this.#unavailable(error);
      throw error;
    }
    if (!details) {
      const error = new EngineError(`Swarm service "${service}" is gone`, 404);
      this.#unavailable(error);
      throw error;
    }
    if (this.#problem !== undefined) {
      this.#problem = undefined;
      this.#logger.info({ service }, 'the Swarm manager answers again');
    }
    const snapshot: ServiceSnapshot = {
      service: details,
      replicas: details.Spec.Mode?.Replicated?.Replicas ?? 0,
      tasks,
      wanted: wantedSlots(tasks),
      running: runningBySlot(tasks, this.#networkId),
    };
    this.#snapshot = snapshot;
    for (const listener of this.#listeners) listener(snapshot);
    return snapshot;
  }

  #unavailable(error: unknown): void {
    const message = (error as Error).message;
    if (this.#problem === message) return;
    this.#problem = message;
    this.#logger.error({ service: this.#options.service, err: message }, 'cannot read the Swarm service');
  }

  /**
   * The service once its tasks match its spec: as many wanted slots as replicas. Right after a
   * scale the manager needs a moment to create or stop tasks; planning on a count it has not acted
   * on yet would lose a change made by someone else. With `after`, only a spec newer than that
   * version will do: not a given count, since another balancer may scale again right after us.
   */
  async converged(after?: number): Promise<ServiceSnapshot> {
    const deadline = Date.now() + CONVERGE_TIMEOUT_MS;
    for (;;) {
      const snapshot = await this.refresh();
      const agreed = snapshot.wanted.size === snapshot.replicas;
      if (agreed && (after === undefined || snapshot.service.Version.Index > after)) return snapshot;
      if (Date.now() > deadline) {
        throw new EngineError(
          `Swarm has not acted on the service's count yet: ${snapshot.replicas} replicas wanted, ${snapshot.wanted.size} tasks (try again)`,
          503,
        );
      }
      await sleep(50);
    }
  }

  /**
   * Sets the service's replica count to what `plan` answers for the service as it is, written at
   * the version read, read and planned again if someone else wrote in between.
   * Resolves once the manager has acted on it, with the service then.
   */
  async scale(plan: (snapshot: ServiceSnapshot) => number): Promise<ServiceSnapshot> {
    for (let attempt = 0; attempt < CONFLICT_RETRIES; attempt++) {
      const snapshot = await this.converged();
      const replicas = plan(snapshot);
      if (replicas === snapshot.replicas) return snapshot;
      const { service } = snapshot;
      const spec = {
        ...service.Spec,
        Mode: { ...service.Spec.Mode, Replicated: { ...service.Spec.Mode?.Replicated, Replicas: replicas } },
      };
      try {
        await this.#engine.updateService(service.ID, service.Version.Index, spec);
      } catch (error) {
        if (error instanceof EngineError && /out of sequence/.test(error.message)) continue;
        throw error;
      }
      this.#logger.info(
        { service: this.#options.service, from: snapshot.replicas, to: replicas },
        'service scaled',
      );
      return this.converged(service.Version.Index);
    }
    throw new EngineError('too many balancers scaling the service at once: try again', 503);
  }

  /** Follows container and service events, and reads the tasks every `pollMs` anyway. */
  #watch(): void {
    const { service } = this.#options;
    const signal = this.#closing.signal;
    const onEvent = () => void this.refresh().catch(() => undefined);
    const follow = async (filters: Record<string, string[]>, handle: (event: EngineEvent) => void) => {
      while (!signal.aborted) {
        try {
          await this.#engine.streamFilteredEvents(filters, handle, signal);
        } catch (error) {
          this.#unavailable(error);
        }
        await sleep(1_000, undefined, { signal }).catch(() => undefined);
      }
    };
    this.#watching = [
      follow({ type: ['container'], label: [`com.docker.swarm.service.name=${service}`] }, (event) => {
        const taskId = event.Actor?.Attributes?.['com.docker.swarm.task.id'];
        if (event.Action === 'die' && taskId) {
          const code = event.Actor?.Attributes?.exitCode;
          for (const listener of this.#deathListeners) listener(taskId, `container exited with code ${code}`);
        }
        onEvent();
      }),
      follow({ type: ['service'], service: [service] }, onEvent),
    ];
    this.#poller = setInterval(onEvent, this.#options.pollMs ?? 1_000);
    this.#poller.unref();
  }

  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    clearInterval(this.#poller);
    await Promise.all(this.#watching);
    await this.#reading?.catch(() => undefined);
    await this.#engine.close();
  }
}
