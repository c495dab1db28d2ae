import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { httpOrigin } from '../core/origin.js';
import type { Provider, ReplicaProcess, ReplicaSpec, RunningReplica } from './provider.js';

/** The compiled replica entry; from TypeScript sources (tests) it is the built copy under dist/. */
export function replicaEntry(): string {
  const compiled = fileURLToPath(new URL('../replica/entry.js', import.meta.url));
  if (existsSync(compiled)) return compiled;
  const built = fileURLToPath(new URL('../../dist/replica/entry.js', import.meta.url));
  if (existsSync(built)) return built;
  throw new Error(`replica entry not found at ${compiled} or ${built}: run "npm run build"`);
}

interface Child {
  readonly replica: RunningReplica;
  readonly process: ChildProcess;
  stopping: boolean;
}

export interface ProcessProviderOptions {
  /** Address the replicas listen on and are reached at. */
  readonly host?: string;
  /** How long a replica may take to start listening. */
  readonly startTimeoutMs?: number;
  /** How long a replica may take to exit on SIGTERM before it is killed. */
  readonly stopTimeoutMs?: number;
}

/**
 * Replicas as child processes of the balancer, each on a free port of its host (`--advertise-host`,
 * 127.0.0.1 by default). Children have an IPC channel to the balancer and exit when it closes, and
 * the balancer kills them on its own exit, so none is left behind whichever way the balancer ends.
 */
export class ProcessProvider implements Provider {
  readonly kind = 'process';
  readonly #children = new Map<string, Child>();
  readonly #exitListeners: ((replica: RunningReplica, reason: string) => void)[] = [];
  readonly #host: string;
  readonly #startTimeoutMs: number;
  readonly #stopTimeoutMs: number;
  readonly #entry = replicaEntry();
  #instances = 0;
  readonly #killAll = () => {
    for (const child of this.#children.values()) child.process.kill('SIGKILL');
  };

  constructor(options: ProcessProviderOptions = {}) {
    this.#host = options.host ?? '127.0.0.1';
    this.#startTimeoutMs = options.startTimeoutMs ?? 10_000;
    this.#stopTimeoutMs = options.stopTimeoutMs ?? 2_000;
    process.on('exit', this.#killAll);
  }

  start(spec: ReplicaSpec): Promise<RunningReplica> {
    if (this.#children.has(spec.name)) {
      return Promise.reject(new Error(`replica "${spec.name}" is already running`));
    }
    const child = fork(this.#entry, [], {
      env: {
        ...process.env,
        SERVER_ID: String(spec.number),
        SERVER_NAME: spec.name,
        PORT: '0',
        HOST: this.#host,
      },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'json',
    });
    const instance = ++this.#instances;
    return new Promise<RunningReplica>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        fail(new Error(`replica "${spec.name}" did not start listening within ${this.#startTimeoutMs} ms`));
      }, this.#startTimeoutMs);
      const fail = (error: Error) => {
        clearTimeout(timer);
        child.removeAllListeners('message');
        reject(error);
      };
      child.once('error', fail);
      child.once('exit', (code, signal) => {
        const entry = this.#children.get(spec.name);
        if (entry?.process === child) {
          this.#children.delete(spec.name);
          if (!entry.stopping) {
            const reason = signal ? `killed by ${signal}` : `exited with code ${code}`;
            for (const listener of this.#exitListeners) listener(entry.replica, reason);
          }
        } else {
          fail(new Error(`replica "${spec.name}" exited before listening (code ${code}, signal ${signal})`));
        }
      });
      child.on('message', (message: unknown) => {
        if (!isListening(message)) return;
        clearTimeout(timer);
        child.removeAllListeners('message');
        child.removeAllListeners('error');
        child.on('error', () => undefined);
        const replica: RunningReplica = { spec, origin: httpOrigin(this.#host, message.port), instance };
        this.#children.set(spec.name, { replica, process: child, stopping: false });
        resolve(replica);
      });
    });
  }

  async stop(name: string, options: { force?: boolean } = {}): Promise<void> {
    const child = this.#children.get(name);
    if (!child) return;
    child.stopping = true;
    const exited = new Promise<void>((resolve) => child.process.once('exit', () => resolve()));
    child.process.kill(options.force ? 'SIGKILL' : 'SIGTERM');
    const timer = setTimeout(() => child.process.kill('SIGKILL'), this.#stopTimeoutMs);
    await exited;
    clearTimeout(timer);
  }

  list(): RunningReplica[] {
    return [...this.#children.values()].map((child) => child.replica);
  }

  onExit(listener: (replica: RunningReplica, reason: string) => void): void {
    this.#exitListeners.push(listener);
  }

  /** The pid of a running replica, for operators and tests that need to signal it. */
  pidOf(name: string): number | undefined {
    return this.#children.get(name)?.process.pid;
  }

  processOf(name: string): ReplicaProcess | undefined {
    const pid = this.pidOf(name);
    return pid === undefined ? undefined : { pid };
  }

  async close(): Promise<void> {
    await Promise.all([...this.#children.keys()].map((name) => this.stop(name)));
    process.off('exit', this.#killAll);
  }
}

function isListening(message: unknown): message is { type: 'listening'; port: number } {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as { type?: unknown }).type === 'listening' &&
    typeof (message as { port?: unknown }).port === 'number'
  );
}
