import type { Logger } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Provider, ProviderStatus, ReplicaProcess, ReplicaSpec, RunningReplica } from '../provider.js';
import { StartRefusedError } from '../provider.js';
import { replicaContainerSpec, replicaOrigin, type ContainerSpecOptions } from './container-spec.js';
import { Engine, EngineError, type EngineEvent } from './engine.js';
import { LABEL_CLUSTER, specFromLabels } from './labels.js';
import { containerName, containerNameProblem } from './naming.js';

export interface DockerProviderOptions {
  /** The Docker daemon's socket, e.g. /var/run/docker.sock. */
  readonly socketPath: string;
  /** Image whose `replica` command runs a replica server (ours: `ringlb:latest`). */
  readonly image: string;
  /** Labels every container; balancers with the same cluster name adopt each other's replicas. */
  readonly cluster: string;
  /** User-defined network to run replicas on (balancer in a container), or undefined to publish ports. */
  readonly network?: string | undefined;
  /** Host address ports are published on when there is no network (default 127.0.0.1). */
  readonly publishHost?: string;
  /** Seconds `docker stop` waits after SIGTERM before SIGKILL (default 2). */
  readonly stopTimeoutS?: number;
  /** Leave replicas running when the balancer closes, for the next balancer to adopt. */
  readonly keepOnClose?: boolean;
  /** How often to try the daemon again while it is unavailable (default 1000 ms). */
  readonly reconnectMs?: number;
  readonly logger: Logger;
}

/** `/add` asked for a container name that a container not of this replica already has. */
export class ContainerNameTakenError extends StartRefusedError {
  constructor(container: string, replica: string, cluster: string) {
    super(
      `container name "${container}" is taken by a container that is not replica "${replica}" of cluster "${cluster}": choose another hostname, or remove that container (docker rm -f ${container})`,
    );
    this.name = 'ContainerNameTakenError';
  }
}

interface Entry {
  readonly id: string;
  readonly replica: RunningReplica;
  stopping: boolean;
}

/**
 * Replicas as Docker containers, through the Engine API on the daemon's socket. Containers carry
 * labels (cluster, replica name and number), so a balancer that restarts adopts them (`discover`).
 * An event stream reports containers that die behind the balancer's back (`docker kill`, `docker rm
 * -f`, a crash). When the daemon goes away, running replicas keep serving; the provider reports
 * itself unavailable, retries, and on return reconciles: replicas that died meanwhile are reported,
 * containers it no longer wants (removed while the daemon was away) are removed.
 */
export class DockerProvider implements Provider {
  readonly kind = 'docker';
  readonly #engine: Engine;
  readonly #options: DockerProviderOptions;
  readonly #spec: ContainerSpecOptions;
  readonly #logger: Logger;
  readonly #entries = new Map<string, Entry>();
  /** Container names being created right now: not strays, whatever a reconcile sees. */
  readonly #creating = new Set<string>();
  readonly #exitListeners: ((replica: RunningReplica, reason: string) => void)[] = [];
  readonly #availableListeners: (() => void)[] = [];
  readonly #closing = new AbortController();
  #network: Promise<void> | undefined;
  #instances = 0;
  #status: ProviderStatus = { available: true };
  #watching: Promise<void> | undefined;

  constructor(options: DockerProviderOptions) {
    this.#options = options;
    this.#engine = new Engine(options.socketPath);
    this.#logger = options.logger;
    this.#spec = {
      cluster: options.cluster,
      image: options.image,
      network: options.network || undefined,
      publishHost: options.publishHost ?? '127.0.0.1',
      stopTimeoutS: options.stopTimeoutS ?? 2,
    };
  }

  status(): ProviderStatus {
    return this.#status;
  }

  nameProblem(name: string): string | undefined {
    return containerNameProblem(this.#options.cluster, name);
  }

  async discover(): Promise<RunningReplica[]> {
    const containers = await this.#engine.listContainers({ [LABEL_CLUSTER]: this.#options.cluster });
    containers.sort((a, b) => a.Created - b.Created);
    const names = new Set<string>();
    const numbers = new Set<number>();
    const adopted: RunningReplica[] = [];
    for (const container of containers) {
      const spec = specFromLabels(this.#options.cluster, container.Labels);
      const name = (container.Names[0] ?? '').replace(/^\//, '');
      let why: string | undefined;
      if (!spec) why = 'labels damaged';
      else if (container.State !== 'running') why = `container ${container.State}`;
      else if (names.has(spec.name) || numbers.has(spec.number) || this.#entries.has(spec.name))
        why = 'duplicate of an older container';
      let origin: string | undefined;
      if (!why) {
        const details = await this.#engine.inspectContainer(container.Id);
        origin = replicaOrigin(name, details?.NetworkSettings.Ports, this.#spec);
        if (!origin) why = 'not reachable the way this balancer reaches replicas';
      }
      if (why || !spec || !origin) {
        this.#logger.info({ container: name, why }, 'removing a leftover replica container');
        await this.#engine.removeContainer(container.Id);
        continue;
      }
      names.add(spec.name);
      numbers.add(spec.number);
      const replica: RunningReplica = { spec, origin, instance: ++this.#instances };
      this.#entries.set(spec.name, { id: container.Id, replica, stopping: false });
      adopted.push(replica);
    }
    this.#watch();
    return adopted;
  }

  async start(spec: ReplicaSpec): Promise<RunningReplica> {
    this.#watch();
    if (!this.#status.available) throw new Error(`Docker is unavailable: ${this.#status.detail}`);
    try {
      return await this.#start(spec);
    } catch (error) {
      this.#markUnavailable(error);
      throw error;
    }
  }

  async #start(spec: ReplicaSpec): Promise<RunningReplica> {
    if (this.#entries.has(spec.name)) throw new Error(`replica "${spec.name}" is already running`);
    const name = containerName(this.#options.cluster, spec.name);
    this.#creating.add(name);
    try {
      await this.#ensureNetwork();
      const body = replicaContainerSpec(spec, this.#spec);
      let id: string;
      try {
        id = await this.#engine.createContainer(name, body);
      } catch (error) {
        if (!(error instanceof EngineError) || error.status !== 409) throw error;
        await this.#removeLeftover(name, spec);
        id = await this.#engine.createContainer(name, body);
      }
      try {
        await this.#engine.startContainer(id);
        const details = await this.#engine.inspectContainer(id);
        const origin = replicaOrigin(name, details?.NetworkSettings.Ports, this.#spec);
        if (!details?.State.Running || !origin) {
          throw new Error(`container ${name} stopped at once (exit code ${details?.State.ExitCode})`);
        }
        const replica: RunningReplica = { spec, origin, instance: ++this.#instances };
        this.#entries.set(spec.name, { id, replica, stopping: false });
        return replica;
      } catch (error) {
        await this.#engine.removeContainer(id).catch(() => undefined);
        throw error;
      }
    } finally {
      this.#creating.delete(name);
    }
  }

  async stop(name: string, options: { force?: boolean } = {}): Promise<void> {
    const entry = this.#entries.get(name);
    if (!entry) return;
    entry.stopping = true;
    try {
      if (!options.force) await this.#engine.stopContainer(entry.id, this.#spec.stopTimeoutS);
      await this.#engine.removeContainer(entry.id);
    } catch (error) {
      // The replica is out of membership already; its container goes at the next reconcile.
      this.#logger.warn(
        { replica: name, err: (error as Error).message },
        'could not remove the replica container; it will be removed when Docker answers again',
      );
      this.#markUnavailable(error);
    } finally {
      if (this.#entries.get(name) === entry) this.#entries.delete(name);
    }
  }

  list(): RunningReplica[] {
    return [...this.#entries.values()].map((entry) => entry.replica);
  }

  onExit(listener: (replica: RunningReplica, reason: string) => void): void {
    this.#exitListeners.push(listener);
  }

  onAvailable(listener: () => void): void {
    this.#availableListeners.push(listener);
  }

  /** The container id of a running replica, for operators and tests. */
  containerIdOf(name: string): string | undefined {
    return this.#entries.get(name)?.id;
  }

  processOf(name: string): ReplicaProcess | undefined {
    const containerId = this.containerIdOf(name);
    return containerId === undefined ? undefined : { containerId };
  }

  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    if (!this.#options.keepOnClose) {
      await Promise.all([...this.#entries.keys()].map((name) => this.stop(name)));
    }
    this.#closing.abort();
    await this.#watching;
    await this.#engine.close();
  }

  #ensureNetwork(): Promise<void> {
    const network = this.#spec.network;
    if (network === undefined) return Promise.resolve();
    this.#network ??= this.#engine.ensureNetwork(network).catch((error: unknown) => {
      this.#network = undefined;
      throw error;
    });
    return this.#network;
  }

  /** A container of ours left under the name we need (e.g. exited): remove it; anyone else's: refuse. */
  async #removeLeftover(name: string, spec: ReplicaSpec): Promise<void> {
    const existing = await this.#engine.inspectContainer(name);
    if (!existing) return;
    const owner = specFromLabels(this.#options.cluster, existing.Config.Labels);
    const ours = owner?.name === spec.name && this.#entries.get(spec.name)?.id !== existing.Id;
    if (!ours) throw new ContainerNameTakenError(name, spec.name, this.#options.cluster);
    await this.#engine.removeContainer(existing.Id);
  }

  #onEvent(event: EngineEvent): void {
    if (event.Action !== 'die' && event.Action !== 'destroy') return;
    const id = event.Actor?.ID;
    const entry = [...this.#entries.values()].find((e) => e.id === id);
    if (!entry || entry.stopping) return;
    this.#entries.delete(entry.replica.spec.name);
    const code = event.Actor?.Attributes?.exitCode;
    this.#exited(entry, event.Action === 'die' ? `container exited with code ${code}` : 'container removed');
  }

  /** A replica's container is gone without being asked: tell membership, and free its name. */
  #exited(entry: Entry, reason: string): void {
    for (const listener of this.#exitListeners) listener(entry.replica, reason);
    this.#engine.removeContainer(entry.id).catch(() => undefined);
  }

  #markUnavailable(error: unknown): void {
    if (!(error instanceof EngineError) || !error.unavailable || !this.#status.available) return;
    this.#status = { available: false, detail: error.message };
    this.#logger.error(
      { err: error.message },
      'Docker is unavailable: serving with the replicas already running; retrying',
    );
  }

  /** Follows the daemon's container events; reconnects (and reconciles) whenever the stream breaks. */
  #watch(): void {
    this.#watching ??= (async () => {
      const signal = this.#closing.signal;
      let reconcile = false;
      while (!signal.aborted) {
        try {
          await this.#engine.ping();
          const stream = this.#engine.streamEvents(
            { [LABEL_CLUSTER]: this.#options.cluster },
            (event) => this.#onEvent(event),
            signal,
          );
          stream.catch(() => undefined);
          if (reconcile) await this.#reconcile();
          if (!this.#status.available) {
            this.#status = { available: true };
            this.#logger.info('Docker is available again');
            for (const listener of this.#availableListeners) listener();
          }
          reconcile = true;
          await stream;
          if (!signal.aborted) throw new EngineError('the Docker daemon ended the event stream', 0);
        } catch (error) {
          if (signal.aborted) break;
          this.#markUnavailable(error instanceof EngineError ? error : new EngineError(String(error), 0));
          reconcile = true;
          await sleep(this.#options.reconnectMs ?? 1_000, undefined, { signal }).catch(() => undefined);
        }
      }
    })();
  }

  /** After an outage: report replicas that died meanwhile, remove containers nobody wants any more. */
  async #reconcile(): Promise<void> {
    const containers = await this.#engine.listContainers({ [LABEL_CLUSTER]: this.#options.cluster });
    const running = new Set(containers.filter((c) => c.State === 'running').map((c) => c.Id));
    for (const entry of [...this.#entries.values()]) {
      if (entry.stopping || running.has(entry.id)) continue;
      this.#entries.delete(entry.replica.spec.name);
      this.#exited(entry, 'container gone while Docker was unavailable');
    }
    const wanted = new Set([...this.#entries.values()].map((e) => e.id));
    for (const container of containers) {
      const name = (container.Names[0] ?? '').replace(/^\//, '');
      if (wanted.has(container.Id) || this.#creating.has(name)) continue;
      this.#logger.info({ container: name }, 'removing a replica container no longer wanted');
      await this.#engine.removeContainer(container.Id);
    }
  }
}
