import { createServer, type Server } from 'node:http';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import type { Logger } from 'pino';
import { handleControl, isControlPath } from '../control/control-api.js';
import { Heartbeat } from '../health/heartbeat.js';
import { HeartbeatProbe } from '../health/probe.js';
import { Cluster } from '../membership/cluster.js';
import { ProcessProvider } from '../providers/process-provider.js';
import type { Provider } from '../providers/provider.js';
import { StaticProvider } from '../providers/static-provider.js';
import { forward } from '../proxy/forward.js';
import { createFastServer } from '../proxy/fast/fast-server.js';
import { UpstreamPools } from '../proxy/fast/upstream-pools.js';
import { requestIdFrom } from '../proxy/request-id.js';
import { noTelemetry } from '../ops/telemetry.js';
import { Upstreams } from '../proxy/upstreams.js';
import { ClassicRing, classicCapacity } from '../ring/classic/classic-ring.js';
import type { Config } from './config.js';

export interface Balancer {
  readonly port: number;
  readonly cluster: Cluster;
  readonly provider: Provider;
  /** The listening server (the fast path). */
  readonly server: NetServer;
  /** The general-purpose server that connections are handed to (control API, bodies, upgrades). */
  readonly http: Server;
  close(): Promise<void>;
}

/** The composition root: wires provider, ring, membership, health checks, proxy and control API. */
function createProvider(config: Config): Provider {
  if (config.provider === 'static') return new StaticProvider(config.backends);
  return new ProcessProvider({ host: '127.0.0.1' });
}

export async function startBalancer(
  config: Config,
  logger: Logger,
  provider: Provider = createProvider(config),
): Promise<Balancer> {
  const ringOptions = { ringSize: config.ringSize, vnodes: config.vnodes };
  const probe = new HeartbeatProbe(config.heartbeatTimeoutMs, config.healthPath);
  const cluster = new Cluster({
    provider,
    buildRing: (members) => new ClassicRing(members, ringOptions),
    capacity:
      provider instanceof StaticProvider
        ? Math.min(provider.capacity, classicCapacity(ringOptions))
        : classicCapacity(ringOptions),
    probe,
    logger,
  });
  const upstreams = new Upstreams({ connections: 64, headersTimeoutMs: 30_000, bodyTimeoutMs: 60_000 });
  const pools = new UpstreamPools({
    maxConnections: 64,
    maxPipelineDepth: 8,
    connectTimeoutMs: 2_000,
    responseTimeoutMs: config.upstreamTimeoutMs,
    idleTimeoutMs: 4_000,
    maxHeadBytes: 64 * 1024,
  });
  cluster.onChange((table) => {
    upstreams.sync(table);
    pools.sync(table);
  });
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
  const http = createServer((req, res) => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const pathname = query < 0 ? url : url.slice(0, query);
    const handled = isControlPath(pathname)
      ? handleControl(req, res, pathname, cluster)
      : forward(req, res, forwardOptions);
    handled.catch((error: unknown) => {
      logger.error({ err: error }, 'request failed');
      res.destroy();
    });
  });
  http.keepAliveTimeout = 65_000;
  const sockets = new Set<Socket>();
  const server = createFastServer(
    {
      table: () => cluster.table,
      pool: (origin) => pools.get(origin),
      keyOf: (view) => requestIdFrom(view.header('x-request-id')),
      isLocalPath: isControlPath,
      retries: config.retries,
      seedNotFound: forwardOptions.seedNotFound,
      telemetry: noTelemetry,
      limits: {
        maxHeadBytes: 16 * 1024,
        maxHeaders: 128,
        headerTimeoutMs: 10_000,
        keepAliveTimeoutMs: 65_000,
      },
    },
    http,
  );
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  const close = async () => {
    heartbeat.stop();
    server.close();
    http.closeIdleConnections();
    await cluster.close();
    pools.close();
    await Promise.all([upstreams.close(), probe.close()]);
    for (const socket of sockets) socket.destroy();
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
  return { port, cluster, provider, server, http, close };
}
