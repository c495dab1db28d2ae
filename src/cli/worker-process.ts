import type { Socket } from 'node:net';
import type { Pool } from 'undici';
import { undici } from '../core/lazy-undici.js';
import { buildRoutingTable } from '../membership/routing-table.js';
import { accessLog } from '../ops/access-log.js';
import { TelemetryRelay } from '../ops/telemetry-relay.js';
import { relayWebSocketStats } from '../ops/websocket-stats.js';
import { createDataPlane } from '../proxy/data-plane.js';
import { relay } from '../proxy/relay.js';
import { ringFactory } from '../ring/registry.js';
import type { Config } from './config.js';
import { edgeLimitsFromConfig, localPaths, ringFromConfig } from './data-settings.js';
import { keyFeatures } from './key-features.js';
import { createLogger } from './logger.js';
import { protocolsFromConfig } from './protocols.js';
import {
  CONFIG_ENV,
  CONTROL_ENV,
  type ConnectionMessage,
  type DrainMessage,
  type TableMessage,
  type WorkerMessage,
} from './worker-messages.js';

/*
 * A `--workers` process, started by the primary (workers.ts). It loads the data plane and what it
 * reports through, and none of the primary's code: settings validation (zod), the control plane,
 * metrics (prom-client) and the CLI would cost each worker ~10 MB of RSS it never uses (issue 15).
 */

/** A worker process: the data plane only, with the routing table the primary sends. */
export async function runWorker(): Promise<void> {
  const config = JSON.parse(process.env[CONFIG_ENV]!) as Config;
  const logger = createLogger(config).child({ worker: process.pid });
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
  // The primary listens and deals out the connections: a worker serves those it is sent.
  process.on('message', (message: ConnectionMessage, socket: Socket | undefined) => {
    if (message?.type === 'ringlb:connection' && socket) data.accept(socket);
  });
  process.send!({ type: 'ringlb:ready' } satisfies WorkerMessage);
}
