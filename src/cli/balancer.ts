import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { handleControl, isControlPath } from '../control/control-api.js';
import { Heartbeat } from '../health/heartbeat.js';
import { HeartbeatProbe } from '../health/probe.js';
import { Cluster } from '../membership/cluster.js';
import { handleOps, isOpsPath } from '../ops/ops-http.js';
import { createOps, type Ops } from '../ops/ops.js';
import { ProcessProvider } from '../providers/process-provider.js';
import type { Provider } from '../providers/provider.js';
import { forward } from '../proxy/forward.js';
import { Upstreams } from '../proxy/upstreams.js';
import { ClassicRing, classicCapacity } from '../ring/classic/classic-ring.js';
import type { Config } from './config.js';

export interface Balancer {
  readonly port: number;
  readonly cluster: Cluster;
  readonly provider: Provider;
  readonly server: Server;
  readonly ops: Ops;
  close(): Promise<void>;
}

/** The composition root: wires provider, ring, membership, health checks, proxy and control API. */
export async function startBalancer(
  config: Config,
  logger: Logger,
  provider: Provider = new ProcessProvider({ host: '127.0.0.1' }),
): Promise<Balancer> {
  const ringOptions = { ringSize: config.ringSize, vnodes: config.vnodes };
  const probe = new HeartbeatProbe(config.heartbeatTimeoutMs);
  const ops = createOps({
    metrics: config.metrics,
    accessLog: config.accessLog,
    logger,
    membership: {
      describe: () => cluster.describe(),
      get table() {
        return cluster.table;
      },
    },
  });
  const { telemetry, accessLog } = ops;
  const cluster = new Cluster({
    telemetry,
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
    onCheck: (target, failure) => ops.checks.record(target.name, failure),
  });

  const forwardOptions = {
    table: () => cluster.table,
    upstreams,
    retries: config.retries,
    seedNotFound: provider.kind === 'process',
    telemetry,
  };
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const pathname = query < 0 ? url : url.slice(0, query);
    let handled: Promise<unknown>;
    if (isOpsPath(pathname, ops.endpoints)) handled = handleOps(req, res, pathname, ops.endpoints);
    else if (isControlPath(pathname)) handled = handleControl(req, res, pathname, cluster);
    else {
      const started = performance.now();
      handled = forward(req, res, forwardOptions).then((replica) => {
        const seconds = (performance.now() - started) / 1000;
        telemetry.requestDone(replica, res.statusCode, seconds);
        accessLog?.(req.method ?? '', url, req.socket.remoteAddress, replica, res.statusCode, seconds);
      });
    }
    handled.catch((error: unknown) => {
      logger.error({ err: error }, 'request failed');
      res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;

  const close = async () => {
    heartbeat.stop();
    ops.close();
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
  return { port, cluster, provider, server, ops, close };
}
