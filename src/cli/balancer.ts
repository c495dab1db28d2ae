import { createServer, type Server } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { Logger } from 'pino';
import { adminGuard } from '../control/admin-auth.js';
import { handleControl } from '../control/control-api.js';
import { RinglbError, seedMessage } from '../core/errors.js';
import { sendFailure } from '../core/json-response.js';
import { Heartbeat } from '../health/heartbeat.js';
import { HeartbeatProbe } from '../health/probe.js';
import { Cluster } from '../membership/cluster.js';
import { planAdd } from '../membership/desired-set.js';
import { MemoryDesiredStore } from '../membership/desired-store.js';
import { soleLeadership } from '../membership/leadership.js';
import { Membership } from '../membership/membership.js';
import { handleOps, isOpsPath } from '../ops/ops-http.js';
import { createOps, type Ops } from '../ops/ops.js';
import type { Provider } from '../providers/provider.js';
import { createDataPlane, type DataPlane, type DataPlaneOptions } from '../proxy/data-plane.js';
import type { RequestView } from '../proxy/request-view.js';
import { RING_PATH } from '../control/control-paths.js';
import { handleRing, RingControl } from '../control/ring-api.js';
import { hashKeyExtractor, keyOfText, parseHashKey } from '../proxy/hash-key.js';
import type { Telemetry } from '../ops/telemetry.js';
import { ringSettingsOf } from '../ring/registry.js';
import type { Config } from './config.js';
import type { StartChecks } from './preflight.js';
import { edgeLimitsFromConfig, localPaths, ringFromConfig } from './data-settings.js';
import { ringBalanceLine } from './ring-balance.js';
import { createProvider, providerStatusHeader } from './provider-factory.js';
import { backendOrigin, isH2Origin, protocolsFromConfig } from './protocols.js';
import { createSharedMembership } from './shared-membership-factory.js';
import { hotKeysOf } from './hot-keys-merge.js';
import { keyFeatures } from './key-features.js';
import type { HotKeys } from '../ops/hot-keys.js';
import { createSwarm } from './swarm-factory.js';
import { WorkerGroup } from './workers.js';

export interface Balancer {
  readonly port: number;
  readonly cluster: Cluster;
  /** What the control API changes: the desired set, applied by the cluster. */
  readonly membership: Membership;
  readonly provider: Provider;
  /** The fast path's server (it listens itself when the balancer is one process). */
  readonly server: NetServer;
  /** The general-purpose server that connections are handed to (control API, bodies, upgrades). */
  readonly http: Server;
  /** Open WebSockets per replica name. */
  webSockets(): Map<string, number>;
  close(): Promise<void>;
}

/** What identifies a request for the ring (`--hash-key`); a missing key is counted as a fallback. */
export function keyFromConfig(config: Config, telemetry: Telemetry): (view: RequestView) => number {
  return hashKeyExtractor(parseHashKey(config.hashKey), { onFallback: () => telemetry.hashKeyFallback() });
}

export interface ControlPlane {
  readonly cluster: Cluster;
  readonly membership: Membership;
  readonly provider: Provider;
  readonly seedNotFound: boolean;
  /** Metrics, dashboard and logs: what the data path reports to. */
  readonly ops: Ops;
  /** Every process's hot keys, merged (`GET /keys/hot`); undefined with `--hot-keys false`. */
  readonly hotKeys: HotKeys | undefined;
  /** The ring settings in force (they change with `PUT /ring`). */
  readonly ring: RingControl;
  /** Serves the balancer's own endpoints (control API, metrics, dashboard). */
  isLocalPath(pathname: string): boolean;
  handleLocal: DataPlaneOptions['handleLocal'];
  /** Starts the initial replicas and the heartbeat, with what the start's checks found. */
  start(checks?: StartChecks): Promise<void>;
  close(): Promise<void>;
}

/** Membership, providers and health: the part that exists once however many workers proxy. */
export function createControlPlane(
  config: Config,
  logger: Logger,
  given?: Provider,
  drain?: (origin: string) => Promise<void>,
): ControlPlane {
  const ring = ringFromConfig(config);
  // Swarm holds the desired set itself (the service's count): its own store, in etcd mode too.
  const swarm = config.provider === 'swarm' && !given ? createSwarm(config, logger) : undefined;
  const shared =
    config.membership === 'etcd'
      ? createSharedMembership(config, logger, given ?? swarm?.provider)
      : undefined;
  const provider: Provider = given ?? shared?.provider ?? swarm?.provider ?? createProvider(config, logger);
  const probe = new HeartbeatProbe(config.heartbeatTimeoutMs, config.healthPath, isH2Origin(config));
  const hotKeys = hotKeysOf(config, () => cluster.table);
  const ops = createOps({
    hotKeys,
    metrics: config.metrics,
    accessLog: config.accessLog,
    logger,
    membership: {
      // With what runs each replica (pid or container), for an operator to find it.
      describe: () => cluster.describe().map((r) => ({ ...r, ...provider.processOf?.(r.name) })),
      get table() {
        return cluster.table;
      },
    },
  });
  const cluster: Cluster = new Cluster({
    telemetry: ops.telemetry,
    provider,
    buildRing: ring.buildRing,
    weighted: ring.weighted,
    capacity: ring.capacity,
    probe,
    logger,
    slowStartMs: config.slowStart * 1000,
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
    rise: config.heartbeatRise,
    onCheck: (target, failure) => ops.checks.record(target.name, failure),
  });
  const ringControl = new RingControl(cluster, ringSettingsOf(config));
  const leadership = shared?.leadership ?? soleLeadership();
  // With Swarm, etcd keeps what a service's count cannot: the ring settings and the leader.
  const store = swarm?.store ?? shared?.store ?? new MemoryDesiredStore();
  const membership = new Membership({
    store,
    cluster,
    rules: {
      nameProblem: (name) => provider.nameProblem?.(name),
      removalProblem: (hostnames) => provider.removalProblem?.(hostnames),
      ...(provider.kind === 'static' ? { backendPool: config.backends.map(backendOrigin) } : {}),
    },
    // A balancer alone that starts its replicas fails an /add whose replica cannot start.
    failFastAdds: !shared && !provider.external,
    logger,
  });
  const hashKey = parseHashKey(config.hashKey);
  const keyOfPreview = (text: string) => keyOfText(hashKey, text);
  let reconciler: NodeJS.Timeout | undefined;
  return {
    cluster,
    membership,
    provider,
    ops,
    hotKeys,
    ring: ringControl,
    seedNotFound: provider.kind === 'process',
    isLocalPath: localPaths(config),
    handleLocal: async (req, res, pathname) => {
      try {
        guard(req);
      } catch (error) {
        req.resume();
        sendFailure(res, error, { 'www-authenticate': 'Bearer' });
        return;
      }
      if (isOpsPath(pathname, ops.endpoints)) return handleOps(req, res, pathname, ops.endpoints);
      if (pathname === RING_PATH && shared && req.method === 'PUT') {
        req.resume();
        return sendFailure(res, sharedRingError());
      }
      if (pathname === RING_PATH) return handleRing(req, res, ringControl, keyOfPreview);
      if (pathname === '/rep') res.setHeader('x-ringlb-provider', providerStatusHeader(provider));
      if (pathname === '/rep' && shared) {
        res.setHeader('x-ringlb-membership', leadership.leading ? 'etcd; leader' : 'etcd; follower');
      }
      await handleControl(req, res, pathname, {
        membership,
        keyOfText: keyOfPreview,
        replicaRows: () => ops.endpoints.dashboard.snapshot().replicas,
      });
    },
    async start(checks = {}) {
      if (checks.unanswered) cluster.notAnswering(checks.unanswered);
      if (swarm) await swarm.open();
      if (shared) {
        await shared.join(cluster, () => membership.desired);
        leadership.start();
      }
      // Replicas left running by an earlier balancer of this cluster count toward the ones wanted.
      else if (provider.discover) await cluster.adopt(await provider.discover());
      const adopted = cluster.describe();
      await membership.start((current, rules) => {
        // A shared cluster's set, once written, is the cluster's: an instance joining adds nothing.
        if (current) return current;
        const start = new Map(adopted.map((r) => [r.name, { number: r.number }]));
        const missing = Math.max(0, config.replicas - start.size);
        return planAdd(start, { n: missing, hostnames: [] }, rules);
      });
      const balance = ringBalanceLine(ringControl.settings.algorithm, cluster.table.ring.shares());
      logger.info(balance.fields, balance.message);
      heartbeat.start();
      reconciler = setInterval(() => void cluster.reconcile(), 2_000);
      reconciler.unref();
    },
    async close() {
      clearInterval(reconciler);
      heartbeat.stop();
      ops.close();
      await cluster.close();
      await leadership.close();
      await membership.close();
      if (shared && shared.store !== store) await shared.store.close();
      await probe.close();
    },
  };
}

/** `PUT /ring` in shared membership: one instance changing alone would route differently. */
function sharedRingError(): RinglbError {
  return new RinglbError(
    'ERR_SHARED_SETTING',
    seedMessage(
      'the ring settings are shared by the cluster (--membership etcd); they cannot change on one instance',
    ),
    409,
  );
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

/**
 * The composition root: control plane and data plane in this process, and with `processes` > 1
 * (the bin passes `--workers`) that many less one worker processes that proxy beside it
 * (workers.ts). Workers run the bin's entry, so a balancer started in another program (a test) is
 * one process.
 */
export async function startBalancer(
  config: Config,
  logger: Logger,
  provider?: Provider,
  checks: StartChecks = {},
  processes = 1,
): Promise<Balancer> {
  // Removals wait for every process to finish its requests to the leaving replica.
  let data: DataPlane | undefined;
  let workers: WorkerGroup | undefined;
  const drain = async (origin: string) => {
    await Promise.all([data?.drained(origin, config.drainTimeoutMs), workers?.drain(origin)]);
  };
  const control = createControlPlane(config, logger, provider, drain);
  const { cluster } = control;
  const admin = config.adminListen === undefined ? undefined : createLocalServer(control);
  // Workers relay control calls to the primary: on the admin listener when one is set (then no
  // process serves a control endpoint on the public port), else on a loopback port of its own.
  let internal: Server | undefined;
  let adminAddress: string | undefined;
  if (processes > 1) {
    let controlOrigin: string;
    if (admin) controlOrigin = adminAddress = await listenOn(admin, config.adminListen!);
    else controlOrigin = await listenOn((internal = createLocalServer(control)), '127.0.0.1:0');
    workers = new WorkerGroup(config, logger, control, controlOrigin, processes - 1);
  }
  const keys = keyFeatures(config, control.ops.telemetry, (report) => control.hotKeys?.add(report));
  data = createDataPlane({
    limits: edgeLimitsFromConfig(config),
    table: () => cluster.table,
    // With an admin listener the public port serves no endpoint of the balancer's own.
    isLocalPath: admin ? () => false : control.isLocalPath,
    handleLocal: control.handleLocal,
    keyOf: keys.keyOf,
    hints: keys.hints,
    retries: config.retries,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    seedNotFound: control.seedNotFound,
    telemetry: control.ops.telemetry,
    accessLog: control.ops.accessLog,
    logger,
    outlierFailures: config.outlierFailures,
    onOutlier: (replica, reason) => cluster.eject(replica, reason),
    protocols: protocolsFromConfig(config),
    drainTimeoutMs: config.drainTimeoutMs,
  });
  const dataPlane = data;
  control.ops.webSockets.local = dataPlane.webSockets.stats;
  let routing = cluster.table;
  cluster.onChange((table) => {
    keys.tableReplaced(routing);
    routing = table;
    dataPlane.sync(table);
  });
  const close = async () => {
    cluster.freeze();
    keys.close();
    admin?.close();
    admin?.closeAllConnections();
    internal?.close();
    await Promise.all([dataPlane.close(config.drainTimeoutMs), workers?.close()]);
    await control.close();
  };
  let port: number;
  try {
    // A worker that dies while the control plane starts ends the start at once.
    await (workers ? Promise.race([control.start(checks), workers.ready]) : control.start(checks));
    workers?.controlStarted();
    // Every process serves before the port opens, so the first connections are dealt to all.
    await workers?.ready;
    port = await dataPlane.listen(config.port, config.host, workers?.share);
    if (admin && adminAddress === undefined) adminAddress = await listenOn(admin, config.adminListen!);
    if (adminAddress !== undefined) logger.info({ admin: adminAddress }, 'control API on its own listener');
  } catch (error) {
    await close();
    throw error;
  }
  logger.info({ host: config.host, port, workers: processes, replicas: cluster.names() }, 'ringlb listening');
  return {
    port,
    cluster,
    membership: control.membership,
    provider: control.provider,
    server: dataPlane.server,
    http: dataPlane.http,
    webSockets: () => dataPlane.edge.webSockets(),
    close,
  };
}
