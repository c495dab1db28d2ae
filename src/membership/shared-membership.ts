import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { planAdd, planRemove, specsOf, type DesiredSet } from './desired-set.js';
import type { RingSettings } from '../ring/registry.js';
import { RinglbError, seedMessage } from '../core/errors.js';
import type { Cluster, WeightedAdd } from './cluster.js';
import type { SharedProvider } from './shared-provider.js';
import type { EtcdStore, StoredDesired } from './store/etcd-store.js';

export interface SharedMembershipOptions {
  readonly store: EtcdStore;
  readonly provider: SharedProvider;
  readonly cluster: Cluster;
  readonly capacity: number;
  /** Replicas the cluster starts with, if this instance is the first to write the desired set. */
  readonly initialReplicas: number;
  /** Lease of the leader: how long the cluster may go without a reconciler after the leader dies. */
  readonly leaseTtlSeconds: number;
  /** This instance's ring settings: they must be the cluster's, or keys would route differently. */
  readonly ring: RingSettings;
  readonly logger: Logger;
}

/**
 * One instance's part in shared membership: `/add` and `/rm` change the desired set in the store
 * (by compare-and-swap), every instance applies the set it watches to its own Cluster, and the
 * instance elected leader is the one whose provider starts, replaces and stops replicas.
 */
export class SharedMembership {
  readonly id = randomUUID();
  readonly #options: SharedMembershipOptions;
  #applied = 0;
  #current: DesiredSet = new Map();

  constructor(options: SharedMembershipOptions) {
    this.#options = options;
  }

  get leader(): boolean {
    return this.#options.provider.leader;
  }

  async start(): Promise<void> {
    const { store, provider, cluster, logger } = this.#options;
    const ring = await store.claimRing(this.#options.ring);
    if (JSON.stringify(ring) !== JSON.stringify(this.#options.ring)) {
      throw new Error(
        `the cluster's ring settings are ${JSON.stringify(ring)}, this instance's ${JSON.stringify(this.#options.ring)}: start it with the cluster's, or every instance would route keys differently`,
      );
    }
    const initial = await store.updateDesired(
      (current) =>
        current ??
        planAdd(new Map(), { n: this.#options.initialReplicas, hostnames: [] }, this.#options.capacity),
    );
    for (const [name, entry] of await store.readRegistry()) provider.setRegistry(name, entry);
    // Watch from the revision read, so no change between the read and the watch is missed.
    await store.watch(initial.revision, {
      desired: (state) => void this.#apply(state),
      registry: (name, entry) => {
        provider.setRegistry(name, entry);
        void cluster.reconcile();
      },
    });
    store.campaign(this.id, this.#options.leaseTtlSeconds, {
      elected: () => void this.#lead(),
      lost: () => {
        if (provider.leader) logger.warn('lost the leadership: no longer starting or stopping replicas');
        provider.follow();
      },
    });
    await this.#apply(initial);
  }

  async #lead(): Promise<void> {
    const { adopted, gone } = await this.#options.provider.lead(this.#current);
    this.#options.logger.info({ adopted, gone, instance: this.id }, 'elected leader of the cluster');
    await this.#options.cluster.reconcile();
  }

  /** Applies a desired set unless a later one was applied already (watch events may trail writes). */
  #apply(state: StoredDesired): Promise<number> {
    if (state.revision > this.#applied) {
      this.#applied = state.revision;
      this.#current = state.set;
    }
    // Applied even when not newer, so a caller resolves only once its change is in the ring.
    return this.#options.cluster.applyDesired(specsOf(this.#current));
  }

  /** Weights are not in the shared desired set yet: one instance weighting alone would route apart. */
  setWeight(): Promise<number> {
    return Promise.reject(sharedWeightsError());
  }

  previewWeight(): ReturnType<Cluster['previewWeight']> {
    return Promise.reject(sharedWeightsError());
  }

  async add(request: WeightedAdd): Promise<number> {
    if (request.weights !== undefined) throw sharedWeightsError();
    const state = await this.#options.store.updateDesired((current) =>
      planAdd(current ?? new Map(), request, this.#options.capacity),
    );
    return this.#apply(state);
  }

  async remove(n: number, hostnames: readonly string[]): Promise<number> {
    const state = await this.#options.store.updateDesired((current) =>
      planRemove(current ?? new Map(), n, hostnames),
    );
    return this.#apply(state);
  }

  /** A preview is computed on this instance's ring, which follows the cluster's desired set. */
  previewAdd(request: WeightedAdd): ReturnType<Cluster['previewAdd']> {
    if (request.weights !== undefined) return Promise.reject(sharedWeightsError());
    return this.#options.cluster.previewAdd(request);
  }

  previewRemove(n: number, hostnames: readonly string[]): ReturnType<Cluster['previewRemove']> {
    return this.#options.cluster.previewRemove(n, hostnames);
  }

  names(): string[] {
    return this.#options.cluster.names();
  }

  async close(): Promise<void> {
    await this.#options.store.close();
  }
}

function sharedWeightsError(): RinglbError {
  return new RinglbError(
    'ERR_SHARED_SETTING',
    seedMessage(
      'replica weights are not shared by the cluster yet (--membership etcd): every instance would have to weight alike',
    ),
    409,
  );
}
