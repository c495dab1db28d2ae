import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { handleControl, isControlPath } from '../control/control-api.js';
import { Heartbeat } from '../health/heartbeat.js';
import { HeartbeatProbe } from '../health/probe.js';
import { Cluster } from '../membership/cluster.js';
import type { Provider } from '../providers/provider.js';
import { forward } from '../proxy/forward.js';
import { Upstreams } from '../proxy/upstreams.js';
import { ClassicRing, classicCapacity } from '../ring/classic/classic-ring.js';
import type { Config } from './config.js';
import { createProvider, providerStatusHeader } from './provider-factory.js';

export interface Balancer {
  readonly port: number;
  readonly cluster: Cluster;
  readonly provider: Provider;
  readonly server: Server;
  close(): Promise<void>;
}

/** The composition root: wires provider, ring, membership, health checks, proxy and control API. */
export async function startBalancer(
  config: Config,
  logger: Logger,
  provider: Provider = createProvider(config, logger),
): Promise<Balancer> {
  const ringOptions = { ringSize: config.ringSize, vnodes: config.vnodes };
  const probe = new HeartbeatProbe(config.heartbeatTimeoutMs);
  const cluster = new Cluster({
    provider,
    buildRing: (members) => new ClassicRing(members, ringOptions),
    capacity: classicCapacity(ringOptions),
    probe,
    logger,
  });
  const upstreams = new Upstreams({ connections: 64, headersTimeoutMs: 30_000, bodyTimeoutMs: 60_000 });
  cluster.onChange((table) => upstreams.sync(table));
  const heartbeat = new Heartbeat(cluster, probe, {
    intervalMs: config.heartbeatIntervalMs,
    threshold: config.heartbeatThreshold,
  });

  const forwardOptions = {
    table: () => cluster.table,
    upstreams,
    retries: config.retries,
    seedNotFound: provider.kind === 'process',
  };
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const pathname = query < 0 ? url : url.slice(0, query);
    if (pathname === '/rep') res.setHeader('x-ringlb-provider', providerStatusHeader(provider));
    const handled = isControlPath(pathname)
      ? handleControl(req, res, pathname, cluster)
      : forward(req, res, forwardOptions);
    handled.catch((error: unknown) => {
      logger.error({ err: error }, 'request failed');
      res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;

  const close = async () => {
    heartbeat.stop();
    server.close();
    server.closeIdleConnections();
    await cluster.close();
    await Promise.all([upstreams.close(), probe.close()]);
    server.closeAllConnections();
  };

  try {
    // Replicas left running by an earlier balancer of this cluster count toward the ones wanted.
    if (provider.discover) await cluster.adopt(await provider.discover());
    const missing = config.replicas - cluster.names().length;
    if (missing > 0) await cluster.add({ n: missing, hostnames: [] });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await close();
    throw error;
  }
  heartbeat.start();
  const port = (server.address() as AddressInfo).port;
  logger.info({ host: config.host, port, replicas: cluster.names() }, 'ringlb listening');
  return { port, cluster, provider, server, close };
}
