import { fork } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpOrigin } from '../core/origin.js';
import type { Provider, ReplicaProcess, ReplicaSpec, RunningReplica } from './provider.js';
import { replicaEntry } from './process-provider.js';

/** A replica process this balancer knows by pid, whether it started it or adopted it. */
export interface DetachedReplica {
  readonly replica: RunningReplica;
  readonly pid: number;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Replicas as processes of their own session that outlive the balancer (shared membership: another
 * instance adopts them by pid). Liveness is polled, since an adopted process is not our child.
 */
export class DetachedProcessProvider implements Provider {
  readonly kind = 'process';
  readonly #replicas = new Map<string, DetachedReplica>();
  readonly #exitListeners: ((replica: RunningReplica, reason: string) => void)[] = [];
  readonly #entry = replicaEntry();
  readonly #timer: NodeJS.Timeout;
  #instances = 0;

  constructor(readonly host = '127.0.0.1') {
    this.#timer = setInterval(() => this.#poll(), 250);
    this.#timer.unref();
  }

  start(spec: ReplicaSpec): Promise<DetachedReplica & RunningReplica> {
    if (this.#replicas.has(spec.name)) {
      return Promise.reject(new Error(`replica "${spec.name}" is already running`));
    }
    const child = fork(this.#entry, [], {
      env: {
        ...process.env,
        SERVER_ID: String(spec.number),
        SERVER_NAME: spec.name,
        PORT: '0',
        HOST: this.host,
        RINGLB_REPLICA_DETACHED: '1',
      },
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      serialization: 'json',
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`replica "${spec.name}" did not start listening within 10000 ms`));
      }, 10_000);
      child.once('error', reject);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`replica "${spec.name}" exited before listening (code ${code}, signal ${signal})`));
      });
      child.on('message', (message: { type?: string; port?: number }) => {
        if (message?.type !== 'listening' || typeof message.port !== 'number') return;
        clearTimeout(timer);
        child.removeAllListeners();
        child.on('error', () => undefined);
        // Reaped by Node if it dies while we run; afterwards, nothing ties it to us.
        child.disconnect();
        child.unref();
        const replica = { spec, origin: httpOrigin(this.host, message.port), instance: ++this.#instances };
        const entry = { replica, pid: child.pid! };
        this.#replicas.set(spec.name, entry);
        resolve({ ...replica, ...entry });
      });
    });
  }

  /** Takes in a replica another instance started; false if its process is gone. */
  adopt(spec: ReplicaSpec, origin: string, pid: number): boolean {
    if (!isAlive(pid)) return false;
    this.#replicas.set(spec.name, { replica: { spec, origin, instance: ++this.#instances }, pid });
    return true;
  }

  async stop(name: string, options: { force?: boolean } = {}): Promise<void> {
    const entry = this.#replicas.get(name);
    if (!entry) return;
    this.#replicas.delete(name);
    await stopPid(entry.pid, options.force ? 0 : 2_000);
  }

  list(): RunningReplica[] {
    return [...this.#replicas.values()].filter((e) => isAlive(e.pid)).map((e) => e.replica);
  }

  pidOf(name: string): number | undefined {
    return this.#replicas.get(name)?.pid;
  }

  processOf(name: string): ReplicaProcess | undefined {
    const pid = this.pidOf(name);
    return pid === undefined ? undefined : { pid };
  }

  onExit(listener: (replica: RunningReplica, reason: string) => void): void {
    this.#exitListeners.push(listener);
  }

  #poll(): void {
    for (const [name, entry] of this.#replicas) {
      if (isAlive(entry.pid)) continue;
      this.#replicas.delete(name);
      for (const listener of this.#exitListeners) listener(entry.replica, `process ${entry.pid} is gone`);
    }
  }

  /** The replicas keep running: they belong to the cluster, not to this instance. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
  }
}

/** SIGTERM (or SIGKILL at once with no grace), then SIGKILL after the grace; resolves when gone. */
export async function stopPid(pid: number, graceMs: number): Promise<void> {
  try {
    process.kill(pid, graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        return;
      }
    }
    await sleep(20);
  }
}
