import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { handleControl, isControlPath } from '../control/control-api.js';
import { handleRing, RING_PATH, RingControl } from '../control/ring-api.js';
import { Heartbeat } from '../health/heartbeat.js';
import { HeartbeatProbe } from '../health/probe.js';
import { Cluster } from '../membership/cluster.js';
import { ProcessProvider } from '../providers/process-provider.js';
import type { Provider } from '../providers/provider.js';
import { noTelemetry } from '../ops/telemetry.js';
import { forward } from '../proxy/forward.js';
import { hashKeyExtractor, parseHashKey } from '../proxy/hash-key.js';
import { Upstreams } from '../proxy/upstreams.js';
import { ringFactory } from '../ring/registry.js';
import { ringSettingsOf, type Config } from './config.js';

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
  provider: Provider = new ProcessProvider({ host: '127.0.0.1' }),
): Promise<Balancer> {
  // The lead swaps in the metrics telemetry here.
  const telemetry = noTelemetry;
  const ringSettings = ringSettingsOf(config);
  const probe = new HeartbeatProbe(config.heartbeatTimeoutMs);
  const cluster = new Cluster({ provider, ...ringFactory(ringSettings), probe, logger, telemetry });
  const ringControl = new RingControl(cluster, ringSettings);
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
    key: hashKeyExtractor(parseHashKey(config.hashKey), { onFallback: () => telemetry.hashKeyFallback() }),
  };
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const pathname = query < 0 ? url : url.slice(0, query);
    const handled = isControlPath(pathname)
      ? handleControl(req, res, pathname, cluster)
      : pathname === RING_PATH
        ? handleRing(req, res, ringControl)
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
    if (config.replicas > 0) await cluster.add({ n: config.replicas, hostnames: [] });
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
