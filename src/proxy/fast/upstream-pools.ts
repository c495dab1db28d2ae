import type { RoutingTable } from '../../membership/cluster.js';
import { UpstreamPool, type UpstreamPoolOptions } from './upstream-pool.js';

/** One pool per replica origin, kept in step with the routing table. */
export class UpstreamPools {
  readonly #pools = new Map<string, UpstreamPool>();
  readonly #options: UpstreamPoolOptions;

  constructor(options: UpstreamPoolOptions) {
    this.#options = options;
  }

  get(origin: string): UpstreamPool | undefined {
    return this.#pools.get(origin);
  }

  sync(table: RoutingTable): void {
    const wanted = new Set(table.routes.map((route) => route.origin));
    for (const origin of wanted) {
      if (!this.#pools.has(origin)) this.#pools.set(origin, new UpstreamPool(origin, this.#options));
    }
    for (const [origin, pool] of this.#pools) {
      if (wanted.has(origin)) continue;
      this.#pools.delete(origin);
      pool.drain();
    }
  }

  close(): void {
    for (const pool of this.#pools.values()) pool.close();
    this.#pools.clear();
  }
}
