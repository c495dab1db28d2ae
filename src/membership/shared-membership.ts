import type { Logger } from 'pino';
import type { RingSettings } from '../ring/registry.js';
import type { Cluster } from './cluster.js';
import type { DesiredSet } from './desired-set.js';
import type { LeadershipGate } from './leadership.js';
import type { SharedProvider } from './shared-provider.js';
import type { EtcdStore } from './store/etcd-store.js';

export interface SharedClusterOptions {
  readonly store: EtcdStore;
  readonly leadership: LeadershipGate;
  readonly cluster: Cluster;
  /** The desired set as this instance applied it last (what the leader adopts against). */
  readonly desired: () => DesiredSet;
  /** Detached processes: started by the leader only, found by the others in the registry. */
  readonly processes?: SharedProvider;
  /** This instance's ring settings: they must be the cluster's, or keys would route differently. */
  readonly ring: RingSettings;
  readonly logger: Logger;
}

/**
 * What an instance of a shared (etcd) cluster does besides following the desired set: it refuses
 * to run with other ring settings than the cluster's, and, with the process provider, keeps the
 * registry of where replicas run and hands the leadership gate's openings to the provider.
 */
export async function joinSharedCluster(options: SharedClusterOptions): Promise<void> {
  const { store, leadership, cluster, processes, logger } = options;
  const ring = await store.claimRing(options.ring);
  if (JSON.stringify(ring) !== JSON.stringify(options.ring)) {
    throw new Error(
      `the cluster's ring settings are ${JSON.stringify(ring)}, this instance's ${JSON.stringify(options.ring)}: start it with the cluster's, or every instance would route keys differently`,
    );
  }
  if (processes) {
    const registry = await store.readRegistry();
    for (const [name, entry] of registry.entries) processes.setRegistry(name, entry);
    await store.watchRegistry(registry.revision, (name, entry) => {
      processes.setRegistry(name, entry);
      void cluster.reconcile();
    });
  }
  leadership.onChange(async (leading) => {
    if (!leading) return processes?.follow();
    const wanted = new Map([...options.desired()].map(([name, member]) => [name, member.number]));
    const taken = processes ? await processes.lead(wanted) : undefined;
    logger.info({ ...taken }, 'elected leader of the cluster');
    await cluster.reconcile();
  });
}
