import type { Provider, ReplicaSpec, RunningReplica } from './provider.js';

/**
 * Servers that already run elsewhere, put behind the balancer as they are: "starting" a replica
 * attaches the next backend that no replica uses, "stopping" detaches it. Nothing is started or
 * killed; health checks still decide who is in the ring.
 */
export class StaticProvider implements Provider {
  readonly kind = 'static';
  readonly external = true;
  readonly #backends: readonly string[];
  readonly #attached = new Map<string, RunningReplica>();
  #instances = 0;

  constructor(backends: readonly string[]) {
    this.#backends = backends.map((url) => new URL(url).origin);
  }

  get capacity(): number {
    return this.#backends.length;
  }

  async start(spec: ReplicaSpec): Promise<RunningReplica> {
    const used = new Set([...this.#attached.values()].map((replica) => replica.origin));
    // A replica keeps its backend across replacements: number k prefers backend k.
    const preferred = this.#backends[spec.number - 1];
    const origin = preferred && !used.has(preferred) ? preferred : this.#backends.find((b) => !used.has(b));
    if (!origin) throw new Error(`all ${this.#backends.length} static backends are in use`);
    const replica: RunningReplica = { spec, origin, instance: ++this.#instances };
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
