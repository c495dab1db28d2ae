import type { Pool } from 'undici';
import { undici } from '../core/lazy-undici.js';
import type { RoutingTable } from '../membership/routing-table.js';

export interface UpstreamOptions {
  /** Keep-alive connections per replica. */
  readonly connections: number;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long. */
  readonly idleTimeoutMs: number;
}

/**
 * One keep-alive connection pool per replica origin, kept in step with the routing table: a pool is
 * created on a replica's first request on this path (the fast path serves most, so this one may
 * never need undici) and closed (after its in-flight requests) when the replica leaves.
 */
export class Upstreams {
  readonly #pools = new Map<string, Pool>();
  /** Pools of replicas that left the ring, closing once their requests are answered. */
  readonly #closing = new Map<string, Promise<void>>();
  readonly #options: UpstreamOptions;

  constructor(options: UpstreamOptions) {
    this.#options = options;
  }

  sync(table: RoutingTable): void {
    const wanted = new Set(table.routes.map((route) => route.origin));
    for (const [origin, pool] of this.#pools) {
      if (wanted.has(origin)) continue;
      this.#pools.delete(origin);
      const closed = pool.close().catch(() => undefined);
      this.#closing.set(origin, closed);
      void closed.then(() => this.#closing.delete(origin));
    }
  }

  poolFor(origin: string): Pool {
    let pool = this.#pools.get(origin);
    if (!pool) {
      pool = new (undici().Pool)(origin, {
        connections: this.#options.connections,
        headersTimeout: this.#options.headersTimeoutMs,
        bodyTimeout: this.#options.bodyTimeoutMs,
        keepAliveTimeout: this.#options.idleTimeoutMs,
        // The replica's own Keep-Alive hint may only shorten it.
        keepAliveMaxTimeout: this.#options.idleTimeoutMs,
      });
      this.#pools.set(origin, pool);
    }
    return pool;
  }

  /** Whether requests to an origin that left the ring are still being answered. */
  draining(origin: string): boolean {
    return this.#closing.has(origin);
  }

  /** Requests in flight or queued on every pool. */
  totalInFlight(): number {
    let total = this.#closing.size;
    for (const pool of this.#pools.values()) total += pool.stats.running + pool.stats.pending;
    return total;
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((pool) => pool.destroy().catch(() => undefined)));
  }
}
