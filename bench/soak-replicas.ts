import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ReplicaMode } from './soak-protocol.js';

const ENTRY = fileURLToPath(new URL('./soak-replica.js', import.meta.url));

/** One soak replica: a process on a fixed loopback port, restarted on the same port after a kill. */
export class SoakReplica {
  #child: ChildProcess | undefined;
  #port = 0;

  constructor(
    readonly name: string,
    readonly env: NodeJS.ProcessEnv,
    /** The scheme of its backend URL: h2c (prior-knowledge HTTP/2) or http (HTTP/1.1). */
    readonly scheme: 'h2c' | 'http' = 'h2c',
  ) {}

  get port(): number {
    return this.#port;
  }

  get pid(): number | undefined {
    return this.#child?.exitCode === null && this.#child.signalCode === null ? this.#child.pid : undefined;
  }

  get backend(): string {
    return `${this.scheme}://127.0.0.1:${this.#port}`;
  }

  /** Starts the process (on its old port after the first time) and waits until it listens. */
  start(timeoutMs = 10_000): Promise<void> {
    const child = fork(ENTRY, [], {
      env: { ...this.env, SOAK_REPLICA_NAME: this.name, PORT: String(this.#port) },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'json',
    });
    this.#child = child;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`soak replica ${this.name} did not listen within ${timeoutMs} ms`));
      }, timeoutMs);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`soak replica ${this.name} exited (${signal ?? code}) before listening`));
      });
      child.on('message', (message: { type?: string; port?: number; message?: string }) => {
        if (message?.type === 'listening' && typeof message.port === 'number') {
          clearTimeout(timer);
          this.#port = message.port;
          resolve();
        } else if (message?.type === 'error') {
          clearTimeout(timer);
          reject(new Error(`soak replica ${this.name}: ${message.message}`));
        }
      });
    });
  }

  signal(signal: NodeJS.Signals): boolean {
    const pid = this.pid;
    if (pid === undefined) return false;
    process.kill(pid, signal);
    return true;
  }

  setMode(mode: ReplicaMode): void {
    if (this.#child?.connected) this.#child.send({ type: 'mode', mode }, () => undefined);
  }

  /** Resolves once the process has exited (SIGCONT first, so a stopped one can act on SIGTERM). */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }

  /** Resolves when the process exits on its own or by a signal. */
  exited(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => child.once('exit', () => resolve()));
  }
}
