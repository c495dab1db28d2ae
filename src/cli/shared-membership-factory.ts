import type { Logger } from 'pino';
import { HeartbeatProbe } from '../health/probe.js';
import { randomUUID } from 'node:crypto';
import type { Cluster } from '../membership/cluster.js';
import type { DesiredSet } from '../membership/desired-set.js';
import { EtcdLeadership } from '../membership/leadership.js';
import { joinSharedCluster } from '../membership/shared-membership.js';
import { SharedProvider } from '../membership/shared-provider.js';
import { EtcdStore } from '../membership/store/etcd-store.js';
import { DetachedProcessProvider } from '../providers/detached-process-provider.js';
import type { Provider } from '../providers/provider.js';
import { ringSettingsOf } from '../ring/registry.js';
import type { Config } from './config.js';
import { createProvider } from './provider-factory.js';

/**
 * `--membership etcd`: the desired set in etcd, leadership by election, and the provider. Replica
 * processes need the leader to start them (`SharedProvider`); static backends are attached and
 * checked by every instance alike; an engine's provider made elsewhere (Swarm's, with its own
 * store) is `given`.
 */
export function createSharedMembership(config: Config, logger: Logger, given?: Provider) {
  const store = new EtcdStore(config.etcdEndpoints, config.clusterName, logger.child({ store: 'etcd' }));
  const leadership = new EtcdLeadership(store, randomUUID(), config.etcdLeaseTtl, logger);
  const processes =
    config.provider === 'process' && !given
      ? new SharedProvider(
          new DetachedProcessProvider(config.advertiseHost),
          store,
          new HeartbeatProbe(config.heartbeatTimeoutMs, config.healthPath),
          leadership,
        )
      : undefined;
  const provider: Provider = given ?? processes ?? createProvider(config, logger);
  return {
    store,
    leadership,
    provider,
    /** Joins the cluster: ring settings checked, registry followed, leadership handed on. */
    join(cluster: Cluster, desired: () => DesiredSet): Promise<void> {
      return joinSharedCluster({
        store,
        leadership,
        cluster,
        desired,
        ring: ringSettingsOf(config),
        logger,
        ...(processes ? { processes } : {}),
      });
    },
  };
}
