import { counted } from '../core/words.js';
import { networkInterfaces } from 'node:os';
import { pino } from 'pino';
import { isProcessOf } from '../membership/store/encoding.js';
import { EtcdStore } from '../membership/store/etcd-store.js';
import { stopPid } from '../providers/detached-process-provider.js';
import { ConfigError } from './config-error.js';
import { loadConfig } from './config.js';

/** This machine's addresses (and names for it): the registered replicas whose pids are its own. */
function localHosts(): Set<string> {
  const hosts = new Set(['127.0.0.1', '::1', 'localhost']);
  for (const addresses of Object.values(networkInterfaces()))
    for (const address of addresses ?? []) hosts.add(address.address);
  return hosts;
}

/**
 * `ringlb down --etcd-endpoints URL,... --cluster-name NAME`: stops every replica of a shared
 * cluster that runs on this machine and removes the cluster from etcd. Balancer instances still
 * running keep running, with no replicas (a leader stops its own once nothing is wanted). A pid
 * means something on its own host only: replicas registered on other hosts are left, with their
 * entries, for `ringlb down` there.
 */
export async function runDown(argv: readonly string[]): Promise<number> {
  const config = loadConfig(['--workers', '1', ...argv], process.env, 'down');
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
    const here = localHosts();
    const local = [...registry].filter(([, entry]) => [...here].some((host) => isProcessOf(entry, host)));
    const elsewhere = [...registry].filter(([name]) => !local.some(([own]) => own === name));
    await Promise.all(local.map(([, entry]) => stopPid(entry.pid, 2_000)));
    if (elsewhere.length === 0) await store.clear();
    else await Promise.all(local.map(([name]) => store.unregister(name)));
    const hosts = [...new Set(elsewhere.map(([, entry]) => entry.host))].join(', ');
    process.stdout.write(
      `cluster "${config.clusterName}": ${counted(local.length, 'replica')} stopped` +
        (elsewhere.length > 0
          ? `; ${elsewhere.length} ${elsewhere.length === 1 ? 'runs' : 'run'} on other hosts (${hosts}): run ringlb down there\n`
          : '\n'),
    );
    return 0;
  } catch (error) {
    throw new ConfigError(`ringlb down: ${(error as Error).message}`);
  } finally {
    await store.close();
  }
}
