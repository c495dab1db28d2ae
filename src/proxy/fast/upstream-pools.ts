import type { RoutingTable } from '../../membership/routing-table.js';
import { UpstreamPool, type UpstreamPoolOptions } from './upstream-pool.js';

/** One pool per replica origin, kept in step with the routing table. */
export class UpstreamPools {
  readonly #pools = new Map<string, UpstreamPool>();
  /** Pools of replicas that left the ring, until their last request is answered. */
  readonly #draining = new Set<UpstreamPool>();
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
      this.#draining.add(pool);
    }
  }

  /** Requests in flight to an origin, whether it is still in the ring or draining. */
  inFlight(origin: string): number {
    let total = this.#pools.get(origin)?.inFlight ?? 0;
    for (const pool of this.#draining) {
      if (pool.connections === 0) this.#draining.delete(pool);
      else if (pool.origin === origin) total += pool.inFlight;
    }
    return total;
  }

  /** Requests in flight to every origin. */
  totalInFlight(): number {
    let total = 0;
    for (const pool of this.#pools.values()) total += pool.inFlight;
    for (const pool of this.#draining) total += pool.inFlight;
    return total;
  }

  close(): void {
    for (const pool of this.#draining) pool.close();
    this.#draining.clear();
    for (const pool of this.#pools.values()) pool.close();
    this.#pools.clear();
  }
}
