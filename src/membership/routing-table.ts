import type { BuildRing } from '../ring/ring.js';
import type { Route, RoutingTable } from './cluster.js';

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
