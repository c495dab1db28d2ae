import type { Logger } from 'pino';
import type { Cluster } from '../membership/cluster.js';
import { HeartbeatProbe } from '../health/probe.js';
import { SharedMembership } from '../membership/shared-membership.js';
import { SharedProvider } from '../membership/shared-provider.js';
import { EtcdStore } from '../membership/store/etcd-store.js';
import { DetachedProcessProvider } from '../providers/detached-process-provider.js';
import { ringSettingsOf, type Config } from './config.js';

/**
 * `--membership etcd`: the store, the provider that starts replicas only while this instance leads,
 * and (once the Cluster exists) the membership the control API changes.
 */
export function createSharedMembership(config: Config, logger: Logger) {
  const store = new EtcdStore(config.etcdEndpoints, config.clusterName, logger.child({ store: 'etcd' }));
  const provider = new SharedProvider(
    new DetachedProcessProvider('127.0.0.1'),
    store,
    new HeartbeatProbe(config.heartbeatTimeoutMs, config.healthPath),
  );
  return {
    provider,
    attach(cluster: Cluster, capacity: number) {
      return new SharedMembership({
        store,
        provider,
        cluster,
        capacity,
        initialReplicas: config.replicas,
        leaseTtlSeconds: config.etcdLeaseTtl,
        ring: ringSettingsOf(config),
        logger,
      });
    },
  };
}
