import { pino } from 'pino';
import { EtcdStore } from '../membership/store/etcd-store.js';
import { stopPid } from '../providers/detached-process-provider.js';
import { ConfigError, loadConfig } from './config.js';

/**
 * `ringlb down --etcd-endpoints URL,... --cluster-name NAME`: stops every replica of a shared
 * cluster and removes the cluster from etcd. Balancer instances still running keep running, with
 * no replicas.
 */
export async function runDown(argv: readonly string[]): Promise<number> {
  const config = loadConfig(['--workers', '1', ...argv]);
  if (config.etcdEndpoints.length === 0) {
    throw new ConfigError(
      'down needs --etcd-endpoints URL,URL,...: the etcd that the balancers of the cluster share (see ringlb down --help)',
    );
  }
  const store = new EtcdStore(config.etcdEndpoints, config.clusterName, pino({ level: 'silent' }));
  try {
    // Nothing wanted first, so no leader replaces the replicas stopped below.
    await store.update(() => new Map());
    const { entries: registry } = await store.readRegistry();
    await Promise.all([...registry.values()].map((entry) => stopPid(entry.pid, 2_000)));
    await store.clear();
    process.stdout.write(`cluster "${config.clusterName}": ${registry.size} replicas stopped\n`);
    return 0;
  } catch (error) {
    throw new ConfigError(`ringlb down: ${(error as Error).message}`);
  } finally {
    await store.close();
  }
}
