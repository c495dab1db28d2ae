import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { Pool } from 'undici';
import { undici } from '../core/lazy-undici.js';
import type { Route } from '../membership/routing-table.js';
import { buildRoutingTable } from '../membership/routing-table.js';
import { ringFactory, type RingSettings } from '../ring/registry.js';
import { accessLog } from '../ops/access-log.js';
import { replayBatch, TelemetryRelay, type TelemetryBatch } from '../ops/telemetry-relay.js';
import { relayWebSocketStats, type WebSocketMessage } from '../ops/websocket-stats.js';
import { createDataPlane } from '../proxy/data-plane.js';
import type { HotKeysReport } from '../ops/hot-keys.js';
import { keyFeatures } from './key-features.js';
import { relay } from '../proxy/relay.js';
import {
  createControlPlane,
  createLocalServer,
  edgeLimitsFromConfig,
  localPaths,
  listenOn,
  ringFromConfig,
} from './balancer.js';
import type { Config } from './config.js';
import { withNodeFlags } from './node-flags.js';
import { protocolsFromConfig } from './protocols.js';

/** Primary → worker: the healthy replicas; every worker builds the same ring from them. */
interface TableMessage {
  readonly type: 'ringlb:table';
  readonly routes: readonly Route[];
  /** The ring settings in force: `PUT /ring` changes them in the primary. */
  readonly settings: RingSettings;
}

/** Primary → worker: answer once no request is in flight to `origin`. */
interface DrainMessage {
  readonly type: 'ringlb:drain';
  readonly id: number;
  readonly origin: string;
}

/**
 * Worker → primary: it listens for tables (`hello`), accepts connections (`listening`), has
 * drained an origin (`drained`), or saw a replica fail request after request (`outlier`).
 */
type WorkerMessage =
  | { readonly type: 'ringlb:hello' }
  | { readonly type: 'ringlb:listening'; readonly port: number }
  | { readonly type: 'ringlb:drained'; readonly id: number }
  | { readonly type: 'ringlb:outlier'; readonly replica: string; readonly reason: string }
  | TelemetryBatch
  | WebSocketMessage
  | HotKeysReport;

const CONFIG_ENV = 'RINGLB_WORKER_CONFIG';
const CONTROL_ENV = 'RINGLB_CONTROL_ORIGIN';

export function isWorkerProcess(): boolean {
  return cluster.isWorker && process.env[CONFIG_ENV] !== undefined;
}

/** A message to a worker that may be exiting: a closed channel is not an error worth dying for. */
function send(worker: Worker, message: TableMessage | DrainMessage): void {
  if (!worker.isConnected()) return;
  worker.send(message, () => undefined);
}

export interface Primary {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The primary process with `--workers N`: it owns membership, replicas and health (one control
 * plane), serves the control API on a loopback port of its own, and pushes every routing change to
 * N worker processes that share the public port and do all the proxying.
 */
export async function runPrimary(config: Config, logger: Logger): Promise<Primary> {
  const workers = new Set<Worker>();
  const drains = new Map<number, { waiting: number; done: () => void }>();
  let drainIds = 0;
  // A replica leaving the ring stops only once every worker has finished its requests to it.
  const drain = (origin: string) =>
    new Promise<void>((resolve) => {
      const live = [...workers].filter((worker) => worker.isConnected());
      if (live.length === 0) return resolve();
      const id = ++drainIds;
      const timer = setTimeout(finish, config.drainTimeoutMs + 1_000);
      function finish() {
        clearTimeout(timer);
        drains.delete(id);
        resolve();
      }
      drains.set(id, { waiting: live.length, done: finish });
      for (const worker of live) send(worker, { type: 'ringlb:drain', id, origin } satisfies DrainMessage);
    });
  const control = createControlPlane(config, logger, undefined, drain);
  // The primary serves the control API: on the admin listener when one is set (then workers serve
  // no control endpoint), else on a loopback port that workers relay control calls to.
  const internal = createLocalServer(control);
  const controlOrigin = await listenOn(internal, config.adminListen ?? '127.0.0.1:0');
  if (config.adminListen !== undefined)
    logger.info({ admin: controlOrigin }, 'control API on its own listener');
  await control.start();

  let stopping = false;
  const tableMessage = (): TableMessage => ({
    type: 'ringlb:table',
    routes: control.cluster.table.routes,
    settings: control.ring.settings,
  });
  control.cluster.onChange(() => {
    const message = tableMessage();
    for (const worker of workers) send(worker, message);
  });

  let resolveFirst: (port: number) => void = () => undefined;
  let rejectFirst: (error: Error) => void = () => undefined;
  const firstListening = new Promise<number>((resolve, reject) => {
    resolveFirst = resolve;
    rejectFirst = reject;
  });
  let listening = 0;
  // Workers run with the balancer's node flags, whatever started the primary.
  cluster.setupPrimary({ execArgv: withNodeFlags(process.execArgv) });
  const fork = () => {
    // Workers never check the admin token themselves: it stays in the primary.
    const { adminToken: _secret, ...workerConfig } = config;
    const worker = cluster.fork({ [CONFIG_ENV]: JSON.stringify(workerConfig), [CONTROL_ENV]: controlOrigin });
    workers.add(worker);
    worker.on('message', (message: WorkerMessage) => {
      switch (message?.type) {
        case 'ringlb:hello':
          send(worker, tableMessage());
          break;
        case 'ringlb:listening':
          if (++listening === config.workers) resolveFirst(message.port);
          break;
        case 'ringlb:outlier':
          control.cluster.eject(message.replica, message.reason);
          break;
        case 'ringlb:telemetry':
          replayBatch(message, control.ops.telemetry);
          break;
        case 'ringlb:hot-keys':
          control.hotKeys?.add(message);
          break;
        case 'ringlb:websockets':
          control.ops.webSockets.update(worker.id, message.snapshot);
          break;
        case 'ringlb:drained': {
          const pending = drains.get(message.id);
          if (pending && --pending.waiting === 0) pending.done();
          break;
        }
      }
    });
    worker.on('exit', (code, signal) => {
      workers.delete(worker);
      control.ops.webSockets.retire(worker.id);
      if (stopping) return;
      if (listening < config.workers) {
        rejectFirst(new Error(`worker exited during start-up (code ${code}, signal ${signal})`));
        return;
      }
      logger.error({ pid: worker.process.pid, code, signal }, 'worker died; starting another');
      setTimeout(() => {
        if (!stopping) fork();
      }, 200).unref();
    });
  };
  for (let i = 0; i < config.workers; i++) fork();

  const close = async () => {
    stopping = true;
    control.cluster.freeze();
    await Promise.all(
      [...workers].map(
        (worker) =>
          new Promise<void>((resolve) => {
            if (worker.isDead()) return resolve();
            worker.once('exit', () => resolve());
            worker.kill('SIGTERM');
          }),
      ),
    );
    await control.close();
    internal.close();
  };
  let port: number;
  try {
    port = await firstListening;
  } catch (error) {
    await close();
    throw error;
  }
  logger.info(
    { host: config.host, port, workers: config.workers, replicas: control.cluster.names() },
    'ringlb listening',
  );
  return { port, close };
}

/** A worker process: the data plane only, with the routing table the primary sends. */
export async function runWorker(logger: Logger): Promise<void> {
  const config = JSON.parse(process.env[CONFIG_ENV]!) as Config;
  // Made on the first control call: most workers never relay one, and undici costs memory.
  let control: Pool | undefined;
  const controlPool = () => (control ??= new (undici().Pool)(process.env[CONTROL_ENV]!, { connections: 8 }));
  let table = buildRoutingTable(ringFromConfig(config).buildRing, []);
  // Requests are counted in the primary, where metrics and the dashboard live.
  const telemetry = new TelemetryRelay((batch) => {
    if (process.connected) process.send!(batch);
  });
  // Hot keys are merged in the primary, like the rest of the telemetry.
  const keys = keyFeatures(config, telemetry, (report) => {
    if (process.connected) process.send!(report);
  });
  const data = createDataPlane({
    limits: edgeLimitsFromConfig(config),
    table: () => table,
    isLocalPath: config.adminListen === undefined ? localPaths(config) : () => false,
    handleLocal: (req, res) => relay(req, res, controlPool()),
    keyOf: keys.keyOf,
    hints: keys.hints,
    retries: config.retries,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    seedNotFound: config.provider === 'process',
    telemetry,
    accessLog: config.accessLog ? accessLog(logger) : undefined,
    logger,
    outlierFailures: config.outlierFailures,
    onOutlier: (replica, reason) =>
      process.send!({ type: 'ringlb:outlier', replica, reason } satisfies WorkerMessage),
    protocols: protocolsFromConfig(config),
    drainTimeoutMs: config.drainTimeoutMs,
  });
  const stopWebSocketRelay = relayWebSocketStats(data.webSockets.stats, (message) => {
    if (process.connected) process.send!(message);
  });
  process.on('message', (message: DrainMessage) => {
    if (message?.type !== 'ringlb:drain') return;
    void data.drained(message.origin, config.drainTimeoutMs).then(() => {
      if (process.connected)
        process.send!({ type: 'ringlb:drained', id: message.id } satisfies WorkerMessage);
    });
  });
  // Serve only once the first table is here, so a new worker never answers "no replica".
  const firstTable = new Promise<void>((resolve) => {
    process.on('message', (message: TableMessage) => {
      if (message?.type !== 'ringlb:table') return;
      const replaced = table;
      table = buildRoutingTable(ringFactory(message.settings).buildRing, message.routes);
      keys.tableReplaced(replaced);
      data.sync(table);
      resolve();
    });
  });
  process.send!({ type: 'ringlb:hello' } satisfies WorkerMessage);
  await firstTable;
  const stop = () => {
    void data.close(config.drainTimeoutMs).finally(() => {
      keys.close();
      telemetry.close();
      stopWebSocketRelay();
      process.exit(0);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', () => undefined);
  process.on('disconnect', stop);
  const port = await data.listen(config.port, config.host);
  process.send!({ type: 'ringlb:listening', port } satisfies WorkerMessage);
}
