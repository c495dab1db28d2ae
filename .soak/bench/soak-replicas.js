import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
const ENTRY = fileURLToPath(new URL('./soak-replica.js', import.meta.url));
/** One soak replica: a process on a fixed loopback port, restarted on the same port after a kill. */
export class SoakReplica {
    name;
    env;
    #child;
    #port = 0;
    constructor(name, env) {
        this.name = name;
        this.env = env;
    }
    get port() {
        return this.#port;
    }
    get pid() {
        return this.#child?.exitCode === null && this.#child.signalCode === null ? this.#child.pid : undefined;
    }
    get backend() {
        return `h2c://127.0.0.1:${this.#port}`;
    }
    /** Starts the process (on its old port after the first time) and waits until it listens. */
    start(timeoutMs = 10_000) {
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
            child.on('message', (message) => {
                if (message?.type === 'listening' && typeof message.port === 'number') {
                    clearTimeout(timer);
                    this.#port = message.port;
                    resolve();
                }
                else if (message?.type === 'error') {
                    clearTimeout(timer);
                    reject(new Error(`soak replica ${this.name}: ${message.message}`));
                }
            });
        });
    }
    signal(signal) {
        const pid = this.pid;
        if (pid === undefined)
            return false;
        process.kill(pid, signal);
        return true;
    }
    setMode(mode) {
        if (this.#child?.connected)
            this.#child.send({ type: 'mode', mode }, () => undefined);
    }
    /** Resolves once the process has exited (SIGCONT first, so a stopped one can act on SIGTERM). */
    async stop() {
        const child = this.#child;
        if (!child || child.exitCode !== null || child.signalCode !== null)
            return;
        const exited = new Promise((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGCONT');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(timer);
    }
    /** Resolves when the process exits on its own or by a signal. */
    exited() {
        const child = this.#child;
        if (!child || child.exitCode !== null || child.signalCode !== null)
            return Promise.resolve();
        return new Promise((resolve) => child.once('exit', () => resolve()));
    }
}
