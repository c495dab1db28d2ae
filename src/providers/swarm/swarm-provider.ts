import { setTimeout as sleep } from 'node:timers/promises';
import type { Provider, ProviderStatus, ReplicaProcess, ReplicaSpec, RunningReplica } from '../provider.js';
import type { ServiceSnapshot, SwarmService } from './swarm-service.js';
import { newestOfSlot, taskStateText, type RunningTask } from './tasks.js';

export interface SwarmProviderOptions {
  /** The port the service's tasks serve on (ours: 5000). */
  readonly port: number;
  /** How long `start` waits for a slot's task to run (default 10 s; a later task is taken by replacement). */
  readonly startTimeoutMs?: number;
}

/** A member the cluster asked for: its slot, and the task that runs it as last reported. */
interface Attached {
  readonly spec: ReplicaSpec;
  replica: RunningReplica | undefined;
  taskId: string | undefined;
  /** Its exit was reported already (a container's death comes before the manager's word on it). */
  gone: boolean;
}

/**
 * Replicas as the tasks of one Swarm service: replica number k is the task in slot k, reached at
 * its IP on the network the balancer shares with the service. Swarm starts, stops and replaces the
 * tasks itself (the count is scaled through the desired store), so "starting" a replica waits for
 * its slot's task to run and "stopping" one lets go of it. When a task dies its exit is reported at
 * once; when Swarm runs a new task in the slot it is reported as the member's replacement, to be
 * checked before it is routed to (`onReplaced`). Members whose task does not answer stay members
 * (`external`).
 */
export class SwarmProvider implements Provider {
  readonly kind = 'swarm';
  readonly external = true;
  /** A task Swarm has just started needs a moment to listen: /add answers once it serves. */
  readonly settleMs = 5_000;
  readonly #service: SwarmService;
  readonly #options: SwarmProviderOptions;
  readonly #attached = new Map<string, Attached>();
  readonly #instances = new Map<string, number>();
  readonly #exitListeners: ((replica: RunningReplica, reason: string) => void)[] = [];
  readonly #replacedListeners: ((replica: RunningReplica) => void)[] = [];
  #closed = false;

  constructor(service: SwarmService, options: SwarmProviderOptions) {
    this.#service = service;
    this.#options = options;
    service.onSnapshot((snapshot) => this.#follow(snapshot));
    service.onTaskDied((taskId, reason) => {
      for (const attached of this.#attached.values())
        if (attached.taskId === taskId) this.#exited(attached, reason);
    });
  }

  nameProblem(): string {
    return `the replicas of a Swarm service are named by their task slot ("Server <slot>"): leave out hostnames, e.g. {"n":2}`;
  }

  /** Swarm picks the task a scale-down stops; nobody can ask it for a given one. */
  removalProblem(hostnames: readonly string[]): string | undefined {
    if (hostnames.length === 0) return undefined;
    return `Swarm chooses which task stops when service "${this.#service.name}" scales down, so '${hostnames[0]}' cannot be removed by name: give a count, e.g. {"n":${hostnames.length}} (the reply lists the replicas left)`;
  }

  status(): ProviderStatus {
    const problem = this.#service.problem;
    return problem === undefined ? { available: true } : { available: false, detail: problem };
  }

  /** Waits until the slot's task runs (Swarm starts it when the service is scaled), and attaches it. */
  async start(spec: ReplicaSpec): Promise<RunningReplica> {
    const deadline = Date.now() + (this.#options.startTimeoutMs ?? 10_000);
    let snapshot = this.#service.snapshot;
    while (!this.#closed) {
      const task = snapshot.running.get(spec.number);
      if (task) {
        const replica = this.#replicaOf(spec, task);
        this.#attached.set(spec.name, { spec, replica, taskId: task.taskId, gone: false });
        return replica;
      }
      if (Date.now() > deadline) break;
      await sleep(100);
      snapshot = await this.#service.refresh().catch(() => snapshot);
    }
    throw new Error(
      `the task of slot ${spec.number} of service "${this.#service.name}" is not running (${taskStateText(newestOfSlot(snapshot.tasks, spec.number))})`,
    );
  }

  /** Swarm stops the task itself when the service scales down: the member is only let go. */
  async stop(name: string): Promise<void> {
    this.#attached.delete(name);
  }

  list(): RunningReplica[] {
    const running: RunningReplica[] = [];
    for (const attached of this.#attached.values())
      if (attached.replica && !attached.gone) running.push(attached.replica);
    return running;
  }

  /** The container of the member's task, as `docker ps` on the task's node shows it. */
  processOf(name: string): ReplicaProcess | undefined {
    const attached = this.#attached.get(name);
    if (!attached || attached.gone) return undefined;
    const task = this.#service.snapshot.running.get(attached.spec.number);
    const containerId = task && task.taskId === attached.taskId ? task.containerId : undefined;
    return containerId === undefined ? undefined : { containerId };
  }

  onExit(listener: (replica: RunningReplica, reason: string) => void): void {
    this.#exitListeners.push(listener);
  }

  onReplaced(listener: (replica: RunningReplica) => void): void {
    this.#replacedListeners.push(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#attached.clear();
    await this.#service.close();
  }

  #replicaOf(spec: ReplicaSpec, task: RunningTask): RunningReplica {
    let instance = this.#instances.get(task.taskId);
    if (instance === undefined) {
      instance = this.#instances.size + 1;
      this.#instances.set(task.taskId, instance);
    }
    const origin = `http://${task.address}:${this.#options.port}`;
    return { spec, origin, instance, ...(task.since === undefined ? {} : { since: task.since }) };
  }

  /** Each member's slot against what runs now: a task gone is an exit, a new one a replacement. */
  #follow(snapshot: ServiceSnapshot): void {
    for (const attached of this.#attached.values()) {
      const task = snapshot.running.get(attached.spec.number);
      if (task?.taskId === attached.taskId) continue;
      const old = snapshot.tasks.find((t) => t.ID === attached.taskId);
      this.#exited(attached, `task ${taskStateText(old)}`);
      if (!task) continue;
      attached.replica = this.#replicaOf(attached.spec, task);
      attached.taskId = task.taskId;
      attached.gone = false;
      for (const listener of this.#replacedListeners) listener(attached.replica);
    }
  }

  #exited(attached: Attached, reason: string): void {
    if (!attached.replica || attached.gone) return;
    attached.gone = true;
    for (const listener of this.#exitListeners) listener(attached.replica, reason);
  }
}
