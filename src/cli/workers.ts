import cluster, { type Worker } from 'node:cluster';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { replayBatch } from '../ops/telemetry-relay.js';
import type { ControlPlane } from './balancer.js';
import type { Config } from './config.js';
import { missingProcessEnv, withNodeFlags } from './node-flags.js';
import {
  CONFIG_ENV,
  CONTROL_ENV,
  type ConnectionMessage,
  type DrainMessage,
  type TableMessage,
  type WorkerMessage,
} from './worker-messages.js';

const CONNECTION: ConnectionMessage = { type: 'ringlb:connection' };

/**
 * The other processes of a balancer started with `--workers N`: N - 1 worker processes beside the
 * primary, which proxies too (one process fewer than a primary that only manages: a Node process
 * costs ~55 MB of RSS before it holds a connection, issue 15). The primary owns membership, replicas
 * and health (one control plane), accepts every connection on the public port and deals them out in
 * turn, keeping its own share; it pushes every routing change to the workers, which report their
 * telemetry back.
 */
export class WorkerGroup {
  readonly #config: Config;
  readonly #logger: Logger;
  readonly #control: ControlPlane;
  readonly #controlOrigin: string;
  /** Worker processes to keep running. */
  readonly #count: number;
  readonly #workers = new Set<Worker>();
  readonly #greeted = new Set<Worker>();
  /** Workers that have a routing table and take connections, in the order they take them. */
  #serving: Worker[] = [];
  #turn = 0;
  #controlStarted = false;
  #stopping = false;
  /** Every worker of the start served once: from then on a dead worker is replaced. */
  #started = false;
  readonly #drains = new Map<number, { waiting: number; done: () => void }>();
  #drainIds = 0;
  #onReady: () => void = () => undefined;
  #onStartFailure: (error: Error) => void = () => undefined;
  /** Resolves once every worker serves; rejects if one dies first. */
  readonly ready: Promise<void>;

  constructor(config: Config, logger: Logger, control: ControlPlane, controlOrigin: string, count: number) {
    this.#config = config;
    this.#logger = logger;
    this.#control = control;
    this.#controlOrigin = controlOrigin;
    this.#count = count;
    this.ready = new Promise<void>((resolve, reject) => {
      this.#onReady = resolve;
      this.#onStartFailure = reject;
    });
    // Unhandled otherwise when the start fails for another reason first.
    this.ready.catch(() => undefined);
    control.cluster.onChange(() => {
      if (!this.#controlStarted) return;
      const message = this.#tableMessage();
      for (const worker of this.#workers) send(worker, message);
    });
    // Workers run with the balancer's node flags, whatever started the primary.
    cluster.setupPrimary({ execArgv: withNodeFlags(process.execArgv) });
    // Forked while the control plane starts (a process start is most of a start-up on a busy
    // machine); they serve once they have a table, and get none before the start is done.
    for (let i = 0; i < count; i++) this.#fork();
  }

  /** The control plane has started: workers get their first table. */
  controlStarted(): void {
    this.#controlStarted = true;
    const message = this.#tableMessage();
    for (const worker of this.#greeted) send(worker, message);
  }

  /**
   * Offers a connection the primary accepted: in turn, the primary keeps one and each serving worker
   * takes one. Returns whether a worker took it.
   */
  readonly share = (socket: Socket): boolean => {
    const serving = this.#serving;
    const turn = this.#turn++ % (serving.length + 1);
    if (turn === serving.length) return false;
    const worker = serving[turn]!;
    // Sent as a bare connection: with the server it came from, Node tracks it in both processes (a
    // list in the primary, a 'close' listener per socket in the worker, ~250 B per WebSocket held)
    // so that this server's close() could wait for the workers' connections, which nothing here does.
    (socket as Socket & { server?: unknown }).server = null;
    try {
      worker.send(CONNECTION, socket, undefined, (error) => {
        // The channel closed before the worker had it: the connection is lost with the worker.
        if (error) socket.destroy();
      });
      return true;
    } catch {
      return false;
    }
  };

  /** Resolves once every worker has finished its requests to `origin` (or after the drain timeout). */
  drain(origin: string): Promise<void> {
    return new Promise<void>((resolve) => {
      const live = [...this.#workers].filter((worker) => worker.isConnected());
      if (live.length === 0) return resolve();
      const id = ++this.#drainIds;
      const timer = setTimeout(finish, this.#config.drainTimeoutMs + 1_000);
      const drains = this.#drains;
      function finish() {
        clearTimeout(timer);
        drains.delete(id);
        resolve();
      }
      drains.set(id, { waiting: live.length, done: finish });
      for (const worker of live) send(worker, { type: 'ringlb:drain', id, origin } satisfies DrainMessage);
    });
  }

  /** Stops every worker (each drains its requests first) and waits for them to exit. */
  async close(): Promise<void> {
    this.#stopping = true;
    this.#serving = [];
    await Promise.all(
      [...this.#workers].map(
        (worker) =>
          new Promise<void>((resolve) => {
            if (worker.isDead()) return resolve();
            worker.once('exit', () => resolve());
            worker.kill('SIGTERM');
          }),
      ),
    );
  }

  #tableMessage(): TableMessage {
    return {
      type: 'ringlb:table',
      routes: this.#control.cluster.table.routes,
      settings: this.#control.ring.settings,
    };
  }

  #fork(): void {
    // Workers never check the admin token themselves: it stays in the primary.
    const { adminToken: _secret, ...workerConfig } = this.#config;
    const worker = cluster.fork({
      ...missingProcessEnv(process.env),
      [CONFIG_ENV]: JSON.stringify(workerConfig),
      [CONTROL_ENV]: this.#controlOrigin,
    });
    const control = this.#control;
    this.#workers.add(worker);
    worker.on('message', (message: WorkerMessage) => {
      switch (message?.type) {
        case 'ringlb:hello':
          this.#greeted.add(worker);
          if (this.#controlStarted) send(worker, this.#tableMessage());
          break;
        case 'ringlb:ready':
          if (this.#stopping) break;
          this.#serving.push(worker);
          if (this.#serving.length === this.#count) {
            this.#started = true;
            this.#onReady();
          }
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
          const pending = this.#drains.get(message.id);
          if (pending && --pending.waiting === 0) pending.done();
          break;
        }
      }
    });
    worker.on('exit', (code, signal) => {
      this.#workers.delete(worker);
      this.#greeted.delete(worker);
      this.#serving = this.#serving.filter((each) => each !== worker);
      control.ops.webSockets.retire(worker.id);
      if (this.#stopping) return;
      if (!this.#started) {
        this.#onStartFailure(new Error(`worker exited during start-up (code ${code}, signal ${signal})`));
        return;
      }
      this.#logger.error({ pid: worker.process.pid, code, signal }, 'worker died; starting another');
      setTimeout(() => {
        if (!this.#stopping) this.#fork();
      }, 200).unref();
    });
  }
}

/** A message to a worker that may be exiting: a closed channel is not an error worth dying for. */
function send(worker: Worker, message: TableMessage | DrainMessage): void {
  if (!worker.isConnected()) return;
  worker.send(message, () => undefined);
}
