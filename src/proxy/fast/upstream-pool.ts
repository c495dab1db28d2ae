import { UpstreamError, type Exchange } from './exchange.js';
import { UpstreamConnection, type UpstreamConnectionOptions } from './upstream-connection.js';

export interface UpstreamPoolOptions extends Omit<UpstreamConnectionOptions, 'host' | 'port'> {
  /** Connections per replica. */
  readonly maxConnections: number;
  /** Requests in flight on one connection (1 = no pipelining). */
  readonly maxPipelineDepth: number;
}

/**
 * The connections to one replica. A request joins a batch being written in this event-loop turn
 * when it may, else goes to an idle connection (the one idle the shortest time, so that the
 * connections a steady load needs stay warm and the rest time out), else a new one while under the
 * limit, else (when safe) behind the shortest queue; otherwise it waits for the first connection to
 * free up.
 */
export class UpstreamPool {
  readonly origin: string;
  readonly #host: string;
  readonly #port: number;
  readonly #options: UpstreamPoolOptions;
  readonly #connections: UpstreamConnection[] = [];
  readonly #waiting: Exchange[] = [];
  /** Connections that went idle, the latest last; entries that are no longer idle are skipped. */
  readonly #idle: UpstreamConnection[] = [];
  /** The connection the last pipelinable request went to: the batch a next one may join. */
  #batch: UpstreamConnection | null = null;
  #closed = false;

  constructor(origin: string, options: UpstreamPoolOptions) {
    const url = new URL(origin);
    this.origin = origin;
    this.#host = url.hostname.replace(/^\[|\]$/g, '');
    this.#port = Number(url.port || 80);
    this.#options = options;
  }

  dispatch(exchange: Exchange): void {
    const connection = this.#choose(exchange);
    if (connection) this.#send(connection, exchange);
    else this.#waiting.push(exchange);
  }

  #send(connection: UpstreamConnection, exchange: Exchange): void {
    if (exchange.pipelinable) this.#batch = connection;
    connection.send(exchange);
  }

  /** Takes back a request that is still waiting for a connection (its client left). */
  withdraw(exchange: Exchange): boolean {
    const index = this.#waiting.indexOf(exchange);
    if (index >= 0) this.#waiting.splice(index, 1);
    return index >= 0;
  }

  #choose(exchange: Exchange): UpstreamConnection | null {
    const maxDepth = this.#options.maxPipelineDepth;
    // Joining a batch that leaves in this turn costs no extra system call on either side.
    const batch = this.#batch;
    if (batch !== null && batch.batching && batch.depth > 0 && batch.accepts(exchange, maxDepth))
      return batch;
    const idle = this.#takeIdle();
    if (idle !== null) return idle;
    if (this.#connections.length < this.#options.maxConnections && !this.#closed) {
      const connection = new UpstreamConnection(
        { ...this.#options, host: this.#host, port: this.#port },
        (c) => this.#onIdle(c),
        (c) => this.#onClose(c),
      );
      this.#connections.push(connection);
      return connection;
    }
    let best: UpstreamConnection | null = null;
    for (const connection of this.#connections) {
      if (!connection.accepts(exchange, maxDepth)) continue;
      if (!best || connection.depth < best.depth) best = connection;
    }
    return best;
  }

  /** The connection idle the shortest time, or null. */
  #takeIdle(): UpstreamConnection | null {
    const idle = this.#idle;
    while (idle.length > 0) {
      const connection = idle.pop()!;
      if (connection.usable && connection.depth === 0) return connection;
    }
    return null;
  }

  #onIdle(connection: UpstreamConnection): void {
    const next = this.#waiting.shift();
    if (next) this.#send(connection, next);
    else this.#idle.push(connection);
  }

  #onClose(connection: UpstreamConnection): void {
    const index = this.#connections.indexOf(connection);
    if (index >= 0) this.#connections.splice(index, 1);
    const idleAt = this.#idle.indexOf(connection);
    if (idleAt >= 0) this.#idle.splice(idleAt, 1);
    if (this.#batch === connection) this.#batch = null;
    // Requests waiting for a connection get one now that there is room.
    while (this.#waiting.length > 0 && !this.#closed) {
      const chosen = this.#choose(this.#waiting[0]!);
      if (!chosen) break;
      this.#send(chosen, this.#waiting.shift()!);
    }
  }

  /** Takes no new requests; connections close once their requests in flight are answered. */
  drain(): void {
    this.#closed = true;
    for (const connection of [...this.#connections]) connection.retire();
    for (const exchange of this.#waiting.splice(0)) {
      exchange.onFailure(new UpstreamError('gone', 'the replica left the ring', false, false));
    }
  }

  /** Requests written to this replica and not yet answered. */
  get inFlight(): number {
    let total = 0;
    for (const connection of this.#connections) total += connection.depth;
    return total;
  }

  /** Closes every connection; requests in flight fail over like on any broken connection. */
  close(): void {
    this.#closed = true;
    for (const connection of [...this.#connections]) connection.close();
    for (const exchange of this.#waiting.splice(0)) {
      exchange.onFailure(new UpstreamError('gone', 'the replica left the ring', false, false));
    }
  }

  get connections(): number {
    return this.#connections.length;
  }
}
