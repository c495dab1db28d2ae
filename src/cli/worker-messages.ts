import cluster from 'node:cluster';
import type { Route } from '../membership/routing-table.js';
import type { HotKeysReport } from '../ops/hot-keys-recorder.js';
import type { TelemetryBatch } from '../ops/telemetry-relay.js';
import type { WebSocketMessage } from '../ops/websocket-stats.js';
import type { RingSettings } from '../ring/registry.js';

/**
 * What the primary and its `--workers` processes say to each other, in a module of its own: a worker
 * loads this and the data plane, not the primary's code (workers.ts).
 */

/** The worker's settings (the primary's, without the admin token), as JSON. */
export const CONFIG_ENV = 'RINGLB_WORKER_CONFIG';
/** Where a worker relays control calls: the primary's control API. */
export const CONTROL_ENV = 'RINGLB_CONTROL_ORIGIN';

export function isWorkerProcess(): boolean {
  return cluster.isWorker && process.env[CONFIG_ENV] !== undefined;
}

/** Primary → worker: the healthy replicas; every worker builds the same ring from them. */
export interface TableMessage {
  readonly type: 'ringlb:table';
  readonly routes: readonly Route[];
  /** The ring settings in force: `PUT /ring` changes them in the primary. */
  readonly settings: RingSettings;
}

/** Primary → worker: answer once no request is in flight to `origin`. */
export interface DrainMessage {
  readonly type: 'ringlb:drain';
  readonly id: number;
  readonly origin: string;
}

/**
 * Primary → worker, with a client connection the primary accepted: serve it. The message carries
 * the socket as its handle.
 */
export interface ConnectionMessage {
  readonly type: 'ringlb:connection';
}

/**
 * Worker → primary: it listens for tables (`hello`), takes connections (`ready`), has
 * drained an origin (`drained`), or saw a replica fail request after request (`outlier`).
 */
export type WorkerMessage =
  | { readonly type: 'ringlb:hello' }
  | { readonly type: 'ringlb:ready' }
  | { readonly type: 'ringlb:drained'; readonly id: number }
  | { readonly type: 'ringlb:outlier'; readonly replica: string; readonly reason: string }
  | TelemetryBatch
  | WebSocketMessage
  | HotKeysReport;
