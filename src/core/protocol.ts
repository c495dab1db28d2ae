/**
 * The protocols a client request can arrive in. Telemetry labels requests with them, and the router
 * keeps one policy for all of them.
 */
export const PROTOCOLS = ['http1', 'h2', 'grpc', 'websocket'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** A protocol's position in `PROTOCOLS`, so hot paths index arrays instead of hashing strings. */
export const PROTOCOL_INDEX: Readonly<Record<Protocol, number>> = { http1: 0, h2: 1, grpc: 2, websocket: 3 };
