/*
 * The paths of the balancer's own endpoints, apart from their handlers: every proxying process tells
 * them from traffic, and a `--workers` process does so without loading the control API (zod).
 */

/** The seed's control endpoints and the methods each accepts. */
export const CONTROL_ROUTES: Record<string, readonly string[]> = {
  '/rep': ['GET', 'HEAD'],
  '/add': ['POST'],
  '/rm': ['POST', 'DELETE'],
};

/** `PUT /replicas/<name>` changes one replica (its weight). */
export const REPLICA_PREFIX = '/replicas/';

/** `GET /ring` and `PUT /ring`: the ring settings in force (ring-api.ts). */
export const RING_PATH = '/ring';
