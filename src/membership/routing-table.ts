import type { BuildRing, Ring } from '../ring/ring.js';

/** Where a ring member is reached; `routes[i]` belongs to `ring.members[i]`. */
export interface Route {
  readonly name: string;
  readonly number: number;
  readonly origin: string;
  readonly weight?: number;
}

export interface RoutingTable {
  readonly ring: Ring;
  readonly routes: readonly Route[];
  /** In-flight requests per member (indexed like `routes`), kept by the data path. */
  readonly loads: Int32Array;
}

/**
 * The routing table for a set of healthy replicas: the ring built from them and, indexed like the
 * ring's members, where each is reached. Pure, so every worker process that is given the same
 * routes builds the same table.
 */
export function buildRoutingTable(buildRing: BuildRing, routes: readonly Route[]): RoutingTable {
  const loads = new Int32Array(routes.length);
  const ring = buildRing(
    routes.map(({ name, number, weight }) =>
      weight === undefined ? { name, number } : { name, number, weight },
    ),
    loads,
  );
  const byName = new Map(routes.map((route) => [route.name, route]));
  return { ring, routes: ring.members.map((member) => byName.get(member.name)!), loads };
}
