import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { replayBatch } from '../ops/telemetry-relay.js';
import { createControlPlane, createLocalServer, listenOn } from './balancer.js';
import type { Config } from './config.js';
import type { StartChecks } from './preflight.js';
import { withNodeFlags } from './node-flags.js';
import {
  CONFIG_ENV,
  CONTROL_ENV,
  type DrainMessage,
  type TableMessage,
  type WorkerMessage,
} from './worker-messages.js';

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
export async function runPrimary(config: Config, logger: Logger, checks: StartChecks = {}): Promise<Primary> {
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

  let stopping = false;
  // Workers are forked while the control plane starts (a process start is most of a start-up on a
  // busy machine), and serve once they have a table: they get none before the start is done.
  let controlStarted = false;
  const greeted = new Set<Worker>();
  const tableMessage = (): TableMessage => ({
    type: 'ringlb:table',
    routes: control.cluster.table.routes,
    settings: control.ring.settings,
  });
  control.cluster.onChange(() => {
    if (!controlStarted) return;
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
          greeted.add(worker);
          if (controlStarted) send(worker, tableMessage());
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
      greeted.delete(worker);
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
    // A worker that dies while the control plane starts ends the start at once (none can listen yet).
    await Promise.race([control.start(checks), firstListening]);
    controlStarted = true;
    for (const worker of greeted) send(worker, tableMessage());
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
