import { createServer, type Server } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { Logger } from 'pino';
import { adminGuard } from '../control/admin-auth.js';
import { handleControl, isControlPath } from '../control/control-api.js';
import { RinglbError, seedMessage } from '../core/errors.js';
import { sendFailure } from '../core/json-response.js';
import { Heartbeat } from '../health/heartbeat.js';
import { HeartbeatProbe } from '../health/probe.js';
import { Cluster } from '../membership/cluster.js';
import { noTelemetry } from '../ops/telemetry.js';
import { ProcessProvider } from '../providers/process-provider.js';
import type { Provider } from '../providers/provider.js';
import { StaticProvider } from '../providers/static-provider.js';
import { createDataPlane, type DataPlane, type EdgeLimits } from '../proxy/data-plane.js';
import { requestIdFrom } from '../proxy/request-id.js';
import type { RequestView } from '../proxy/request-view.js';
import { ClassicRing, classicCapacity } from '../ring/classic/classic-ring.js';
import type { BuildRing } from '../ring/ring.js';
import type { Config } from './config.js';
import { backendOrigin, isH2Origin, protocolsFromConfig } from './protocols.js';

export interface Balancer {
  readonly port: number;
  readonly cluster: Cluster;
  readonly provider: Provider;
  /** The listening server (the fast path). */
  readonly server: NetServer;
  /** The general-purpose server that connections are handed to (control API, bodies, upgrades). */
  readonly http: Server;
  /** Open WebSockets per replica name. */
  webSockets(): Map<string, number>;
  close(): Promise<void>;
}

function createProvider(config: Config): Provider {
  if (config.provider === 'static') return new StaticProvider(config.backends.map(backendOrigin));
  return new ProcessProvider({ host: '127.0.0.1' });
}

/** The ring algorithm the settings ask for, and how many replicas it can hold. */
export function ringFromConfig(config: Config): { buildRing: BuildRing; capacity: number } {
  const options = { ringSize: config.ringSize, vnodes: config.vnodes };
  return { buildRing: (members) => new ClassicRing(members, options), capacity: classicCapacity(options) };
}

/** Paths the balancer answers itself rather than proxying (the same in every worker). */
export function isLocalPath(pathname: string): boolean {
  return isControlPath(pathname);
}

/** The edge's limits, from the settings. */
export function edgeLimitsFromConfig(config: Config): EdgeLimits {
  return {
    maxHeaderSize: config.maxHeaderSize,
    maxBodySize: config.maxBodySize,
    headersTimeoutMs: config.headersTimeoutMs,
    keepAliveTimeoutMs: config.keepAliveTimeoutMs,
    maxConnections: config.maxConnections,
    trustForwarded: config.trustForwarded,
  };
}

/** What identifies a request for the ring. */
export function keyFromConfig(_config: Config): (view: RequestView) => number {
  return (view) => requestIdFrom(view.header('x-request-id'));
}

export interface ControlPlane {
  readonly cluster: Cluster;
  readonly provider: Provider;
  readonly seedNotFound: boolean;
  /** Serves the balancer's own endpoints (the control API). */
  isLocalPath(pathname: string): boolean;
  handleLocal: Parameters<typeof createDataPlane>[0]['handleLocal'];
  /** Starts the initial replicas and the heartbeat. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Membership, providers and health: the part that exists once however many workers proxy. */
export function createControlPlane(
  config: Config,
  logger: Logger,
  provider: Provider = createProvider(config),
  drain?: (origin: string) => Promise<void>,
): ControlPlane {
  const ring = ringFromConfig(config);
  const probe = new HeartbeatProbe(config.heartbeatTimeoutMs, config.healthPath, isH2Origin(config));
  const cluster = new Cluster({
    provider,
    buildRing: ring.buildRing,
    capacity: provider instanceof StaticProvider ? Math.min(provider.capacity, ring.capacity) : ring.capacity,
    probe,
    logger,
    ...(drain ? { drain } : {}),
    ejection: {
      maxShare: config.maxEjectionPercent / 100,
      baseMs: 5_000,
      rise: config.heartbeatRise,
      intervalMs: config.heartbeatIntervalMs,
    },
  });
  const guard = adminGuard(config.adminToken);
  if (config.adminToken === undefined && config.adminListen === undefined) {
    logger.warn(
      'the control API (/add, /rm) is open to anyone who can reach the port: set --admin-token or --admin-listen',
    );
  }
  const heartbeat = new Heartbeat(cluster, probe, {
    intervalMs: config.heartbeatIntervalMs,
    threshold: config.heartbeatThreshold,
  });
  return {
    cluster,
    provider,
    seedNotFound: provider.kind === 'process',
    isLocalPath,
    handleLocal: async (req, res, pathname) => {
      try {
        guard(req);
      } catch (error) {
        req.resume();
        sendFailure(res, error, { 'www-authenticate': 'Bearer' });
        return;
      }
      await handleControl(req, res, pathname, cluster);
    },
    async start() {
      if (config.replicas > 0) await cluster.add({ n: config.replicas, hostnames: [] });
      heartbeat.start();
    },
    async close() {
      heartbeat.stop();
      await cluster.close();
      await probe.close();
    },
  };
}

/** An HTTP server for the balancer's own endpoints only (the admin listener). */
export function createLocalServer(control: ControlPlane): Server {
  return createServer((req, res) => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const pathname = query < 0 ? url : url.slice(0, query);
    if (!control.isLocalPath(pathname)) {
      req.resume();
      sendFailure(
        res,
        new RinglbError(
          'ERR_ENDPOINT_NOT_FOUND',
          seedMessage(`'${pathname}' is not a control endpoint`),
          404,
        ),
      );
      return;
    }
    control.handleLocal(req, res, pathname).catch(() => res.destroy());
  });
}

/** Listens on `HOST:PORT` and resolves to the origin actually bound, e.g. `http://127.0.0.1:9000`. */
export function listenOn(server: Server, hostPort: string): Promise<string> {
  const colon = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(hostPort.slice(colon + 1));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const { address, port: bound } = server.address() as AddressInfo;
      resolve(`http://${address.includes(':') ? `[${address}]` : address}:${bound}`);
    });
  });
}

/** The composition root for one process: control plane and data plane together. */
export async function startBalancer(config: Config, logger: Logger, provider?: Provider): Promise<Balancer> {
  // The data plane is created below; removals wait for it to finish requests to the leaving replica.
  let data: DataPlane | undefined;
  const drain = (origin: string) => data?.drained(origin, config.drainTimeoutMs) ?? Promise.resolve();
  const control = createControlPlane(config, logger, provider, drain);
  const { cluster } = control;
  const admin = config.adminListen === undefined ? undefined : createLocalServer(control);
  data = createDataPlane({
    limits: edgeLimitsFromConfig(config),
    table: () => cluster.table,
    // With an admin listener the public port serves no endpoint of the balancer's own.
    isLocalPath: admin ? () => false : control.isLocalPath,
    handleLocal: control.handleLocal,
    keyOf: keyFromConfig(config),
    retries: config.retries,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    seedNotFound: control.seedNotFound,
    telemetry: noTelemetry,
    logger,
    outlierFailures: config.outlierFailures,
    onOutlier: (replica, reason) => cluster.eject(replica, reason),
    protocols: protocolsFromConfig(config),
    drainTimeoutMs: config.drainTimeoutMs,
  });
  const dataPlane = data;
  cluster.onChange((table) => dataPlane.sync(table));
  const close = async () => {
    admin?.close();
    admin?.closeAllConnections();
    await dataPlane.close(config.drainTimeoutMs);
    await control.close();
  };
  let port: number;
  try {
    await control.start();
    port = await dataPlane.listen(config.port, config.host);
    if (admin) {
      const address = await listenOn(admin, config.adminListen!);
      logger.info({ admin: address }, 'control API on its own listener');
    }
  } catch (error) {
    await close();
    throw error;
  }
  logger.info({ host: config.host, port, replicas: cluster.names() }, 'ringlb listening');
  return {
    port,
    cluster,
    provider: control.provider,
    server: dataPlane.server,
    http: dataPlane.http,
    webSockets: () => dataPlane.edge.webSockets(),
    close,
  };
}
