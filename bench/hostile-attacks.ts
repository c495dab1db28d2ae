import { connect, type Socket } from 'node:net';
import { MALFORMED } from './hostile-requests.js';

/**
 * The two attacks of `npm run bench:hostile`, from this process: slowloris connections that dribble
 * a request head one byte at a time, and a flood of malformed requests, one per connection.
 */

const SLOW_HEAD = 'GET /slowloris HTTP/1.1\r\nHost: lb.test\r\nX-Slow: ' + 'a'.repeat(4096);

/** Keeps `count` connections open, each sending one more head byte every `byteEveryMs`. */
export class Slowloris {
  readonly #port: number;
  readonly #count: number;
  readonly #sockets = new Map<Socket, { sent: number; since: number }>();
  readonly #timer: NodeJS.Timeout;
  #running = true;
  #tick = 0;
  /** How long connections lived before the balancer closed them, in ms. */
  readonly lifetimes: number[] = [];
  /** Whether any slowloris connection was answered with something other than a 408. */
  unexpectedAnswers = 0;

  constructor(port: number, count: number, byteEveryMs = 1_000) {
    this.#port = port;
    this.#count = count;
    for (let i = 0; i < count; i++) this.#open();
    // Ten ticks per interval, each feeding a tenth of the connections.
    const slices = 10;
    this.#timer = setInterval(() => {
      const slice = this.#tick++ % slices;
      let i = 0;
      for (const [socket, state] of this.#sockets) {
        if (i++ % slices !== slice || !socket.writable) continue;
        socket.write(SLOW_HEAD[state.sent++ % SLOW_HEAD.length]!);
      }
    }, byteEveryMs / slices);
  }

  get open(): number {
    return this.#sockets.size;
  }

  /** Connections the balancer has accepted (a SYN dropped from a full backlog is retried only after 1 s). */
  connected = 0;

  /** Resolves once every connection is established, or after `timeoutMs`. */
  async established(timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    while (this.connected < this.#count && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return this.connected;
  }

  #open(): void {
    const socket = connect(this.#port, '127.0.0.1');
    const state = { sent: 0, since: performance.now() };
    this.#sockets.set(socket, state);
    socket.on('error', () => undefined);
    let up = false;
    socket.on('connect', () => {
      up = true;
      this.connected++;
    });
    socket.on('data', (chunk: Buffer) => {
      if (!chunk.toString('latin1').startsWith('HTTP/1.1 408')) this.unexpectedAnswers++;
    });
    socket.on('close', () => {
      if (up) this.connected--;
      this.#sockets.delete(socket);
      if (!this.#running) return;
      this.lifetimes.push(performance.now() - state.since);
      // The attacker comes straight back: the balancer never gets a quiet moment.
      if (this.#sockets.size < this.#count) this.#open();
    });
  }

  stop(): void {
    this.#running = false;
    clearInterval(this.#timer);
    for (const socket of this.#sockets.keys()) socket.destroy();
    this.#sockets.clear();
  }
}

export interface FloodResult {
  sent: number;
  /** Answers by status line (e.g. "400"), "none" when the connection closed without one. */
  readonly answers: Record<string, number>;
}

/**
 * Sends malformed requests, `concurrency` connections at a time, until `total` were sent, `until()`
 * says stop, or `maxMs` passed. Each waits for the balancer to answer and close (at most 2 s).
 */
export async function flood(
  port: number,
  total: number,
  options: { concurrency: number; maxMs: number; until?: () => boolean; result?: FloodResult },
): Promise<FloodResult> {
  const result = options.result ?? { sent: 0, answers: {} };
  const deadline = performance.now() + options.maxMs;
  const stop = () => result.sent >= total || performance.now() > deadline || (options.until?.() ?? false);
  let connections = 0;
  const one = (bytes: string) =>
    new Promise<void>((resolve) => {
      // ringlb closes first, so each flood connection leaves a TIME_WAIT behind on its side; spread
      // over 100 client addresses, new connections (the load generator's too) never run into one.
      const localAddress = `127.0.0.${2 + (connections++ % 100)}`;
      const socket = connect({ port, host: '127.0.0.1', localAddress });
      let first = '';
      const timer = setTimeout(() => socket.destroy(), 2_000);
      socket.on('error', () => undefined);
      socket.on('data', (chunk: Buffer) => {
        if (first.length < 12) first += chunk.toString('latin1', 0, 12);
      });
      socket.on('close', () => {
        clearTimeout(timer);
        const status = /^HTTP\/1\.[01] (\d{3})/.exec(first)?.[1] ?? 'none';
        result.answers[status] = (result.answers[status] ?? 0) + 1;
        resolve();
      });
      socket.write(bytes, 'latin1');
    });
  const worker = async () => {
    while (!stop()) await one(MALFORMED[result.sent++ % MALFORMED.length]!);
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return result;
}
