import type { Logger } from 'pino';
import { RinglbError, seedMessage } from '../core/errors.js';
import { movedFraction } from '../ring/moved.js';
import { StartRefusedError } from '../providers/provider.js';
import type { Ring } from '../ring/ring.js';
import type { ChangePreview, Cluster, WeightedAdd } from './cluster.js';
import {
  planAdd,
  planRemove,
  specsOf,
  weightsOf,
  type DesiredMember,
  type DesiredSet,
  type PlanRules,
} from './desired-set.js';
import type { DesiredStore, StoredDesired } from './desired-store.js';

export interface MembershipOptions {
  readonly store: DesiredStore;
  /** The reconciler: makes what runs match the desired set. */
  readonly cluster: Cluster;
  /** Validation shared by every change (capacity follows the ring in force). */
  readonly rules: Omit<PlanRules, 'capacity'>;
  /**
   * Whether an `/add` whose replica cannot start fails whole and is undone (one balancer that
   * starts its replicas itself). In a shared cluster the leader starts them, and one that fails is
   * replaced like any failure.
   */
  readonly failFastAdds: boolean;
  readonly logger: Logger;
}

/**
 * What the control API changes. `/add` and `/rm` are planned (validated) against the desired set
 * as stored, written to the store, and resolve once the reconciler has applied that set here: the
 * API never calls a provider. Sets written by other instances arrive through the store's watch and
 * are applied the same way.
 */
export class Membership {
  readonly #options: MembershipOptions;
  /** The newest revision applied; watch events may trail this instance's own writes. */
  #applied = 0;
  #current: DesiredSet = new Map();

  constructor(options: MembershipOptions) {
    this.#options = options;
  }

  get store(): DesiredStore {
    return this.#options.store;
  }

  #rules(): PlanRules {
    return { ...this.#options.rules, capacity: this.#options.cluster.capacity };
  }

  /**
   * Writes the starting set unless the store has one (another instance wrote it first, or an
   * engine holds it), applies it, and follows the store from then on. `initial` gets the set as
   * stored, for a balancer alone to add the replicas still missing to those it adopted.
   */
  async start(initial: (current: DesiredSet | undefined, rules: PlanRules) => DesiredSet): Promise<void> {
    const { store } = this.#options;
    let wrote = new Set<string>();
    const state = await store.update((current) => {
      const next = initial(current, this.#rules());
      wrote = new Set([...next.keys()].filter((name) => !current?.has(name)));
      return next;
    });
    // Deferred, so this instance's own writes are applied by their writers (with their failFast).
    await store.watch(state.revision, (later) =>
      setImmediate(() => {
        if (later.revision > this.#applied) void this.#apply(later);
      }),
    );
    const { failed } = await this.#apply(state, this.#options.failFastAdds ? wrote : new Set());
    if (failed.size > 0) throw startError(failed);
  }

  async add(request: WeightedAdd): Promise<number> {
    this.#checkWeights(request.weights);
    let added: string[] = [];
    const before = this.#options.cluster.table.ring;
    const state = await this.#options.store.update((current) => {
      const before = current ?? new Map();
      const next = planAdd(before, request, this.#rules());
      added = [...next.keys()].filter((name) => !before.has(name));
      for (const [name, weight] of Object.entries(request.weights ?? {})) {
        next.set(name, { ...next.get(name)!, weight });
      }
      return next;
    });
    const { failed } = await this.#apply(state, this.#options.failFastAdds ? new Set(added) : new Set());
    if (failed.size === 0) return this.#movedSince(before);
    // All or nothing: the replicas this add asked for leave the desired set again.
    const undo = await this.#options.store.update((current) => {
      const next = new Map(current ?? []);
      for (const name of added) if (next.get(name)?.number === state.set.get(name)?.number) next.delete(name);
      return next;
    });
    await this.#apply(undo);
    throw startError(failed);
  }

  async remove(n: number, hostnames: readonly string[]): Promise<number> {
    this.#checkRemoval(hostnames);
    const before = this.#options.cluster.table.ring;
    const state = await this.#options.store.update((current) =>
      planRemove(current ?? new Map(), n, hostnames),
    );
    await this.#apply(state);
    return this.#movedSince(before);
  }

  /** Replica names, by number. */
  names(): string[] {
    return this.#options.cluster.names();
  }

  /** The desired set this instance applied last. */
  get desired(): DesiredSet {
    return this.#current;
  }

  previewAdd(request: WeightedAdd): Promise<ChangePreview> {
    this.#checkWeights(request.weights);
    return this.#options.cluster.previewAdd(request, this.#rules());
  }

  previewRemove(n: number, hostnames: readonly string[]): Promise<ChangePreview> {
    this.#checkRemoval(hostnames);
    return this.#options.cluster.previewRemove(n, hostnames);
  }

  /** A member's weight, written to the desired set like any change, so every instance weights alike. */
  async setWeight(name: string, weight: number): Promise<number> {
    this.#checkWeights({ [name]: weight });
    const before = this.#options.cluster.table.ring;
    const state = await this.#options.store.update((current) => {
      const member = current?.get(name);
      if (!member) {
        throw new RinglbError(
          'ERR_UNKNOWN_HOSTNAME',
          seedMessage(`hostname '${name}' is not a replica`),
          404,
        );
      }
      const next = new Map<string, DesiredMember>(current);
      next.set(name, { ...member, weight });
      return next;
    });
    await this.#apply(state);
    const moved = this.#movedSince(before);
    this.#options.logger.info({ replica: name, weight, moved }, 'replica weight changed');
    return moved;
  }

  previewWeight(name: string, weight: number): Promise<ChangePreview> {
    this.#checkWeights({ [name]: weight });
    return this.#options.cluster.previewWeight(name, weight);
  }

  /** Some engines choose themselves which replica a removal stops: then names are refused. */
  #checkRemoval(hostnames: readonly string[]): void {
    const problem = this.#options.rules.removalProblem?.(hostnames);
    if (problem) throw new RinglbError('ERR_INVALID_BODY', seedMessage(problem));
  }

  /**
   * Weights are kept with the desired set, so every instance weights alike; a store that cannot
   * keep them (an engine's replica count) refuses them, or instances would route apart.
   */
  #checkWeights(weights: Readonly<Record<string, number>> | undefined): void {
    if (weights === undefined) return;
    if (!this.#options.store.holdsWeights) {
      throw new RinglbError(
        'ERR_SHARED_SETTING',
        seedMessage(
          `replica weights cannot be kept by the ${this.#options.store.kind} store: every instance would have to weight alike`,
        ),
        409,
      );
    }
    this.#options.cluster.checkWeights(weights);
  }

  /**
   * The fraction of keys that moved in this instance's ring since `before`, whoever applied the
   * change: the store's watch may deliver this instance's own write before the write returns.
   */
  #movedSince(before: Ring): number {
    return movedFraction(before, this.#options.cluster.table.ring);
  }

  /** Applies a desired set (members and their weights) unless a later one was applied already. */
  #apply(state: StoredDesired, failFast: ReadonlySet<string> = new Set()) {
    if (state.revision > this.#applied) {
      this.#applied = state.revision;
      this.#current = state.set;
    }
    // Applied even when not newer, so a caller resolves only once its change is in the ring.
    const weights = this.#options.store.holdsWeights ? weightsOf(this.#current) : undefined;
    return this.#options.cluster.applyDesired(specsOf(this.#current), failFast, weights);
  }

  async close(): Promise<void> {
    await this.#options.store.close();
  }
}

/** A start the provider refused for what was asked (a name taken) is the asker's to fix: 409. */
function startError(failed: ReadonlyMap<string, Error>): RinglbError {
  const [, error] = [...failed][0]!;
  const refused = error instanceof StartRefusedError;
  return new RinglbError(
    refused ? 'ERR_REPLICA_REFUSED' : 'ERR_REPLICA_START',
    seedMessage(`could not start replica: ${error.message}`),
    refused ? 409 : 500,
  );
}
