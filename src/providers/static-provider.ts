import type { Provider, ReplicaSpec, RunningReplica } from './provider.js';

/**
 * Servers that already run elsewhere, put behind the balancer as they are: "starting" a replica
 * attaches the server its spec names (`backend`), "stopping" detaches it. Nothing is started or
 * killed; health checks decide who is in the ring, and one that does not answer stays a member
 * (`external`).
 */
export class StaticProvider implements Provider {
  readonly kind = 'static';
  readonly external = true;
  readonly #attached = new Map<string, RunningReplica>();
  #instances = 0;

  async start(spec: ReplicaSpec): Promise<RunningReplica> {
    if (spec.backend === undefined) throw new Error(`replica "${spec.name}" names no static backend`);
    const replica: RunningReplica = {
      spec,
      origin: new URL(spec.backend).origin,
      instance: ++this.#instances,
    };
    this.#attached.set(spec.name, replica);
    return replica;
  }

  async stop(name: string): Promise<void> {
    this.#attached.delete(name);
  }

  list(): RunningReplica[] {
    return [...this.#attached.values()];
  }

  onExit(): void {
    // Static backends are not our processes: only health checks can tell that one is gone.
  }

  async close(): Promise<void> {
    this.#attached.clear();
  }
}
