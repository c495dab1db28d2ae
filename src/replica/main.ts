import { createCacheServer } from './cache-server.js';
import type { ReplicaMode } from './replica-args.js';
import { createReplicaServer } from './server.js';

/**
 * Runs one replica (the seed's, or a cache when `mode` says so: `ringlb replica --cache`) from `SERVER_ID` (and its name, `SERVER_NAME`), `PORT` (0 picks a free port) and `HOST`. When started by the
 * balancer over IPC it reports its port once listening, and exits when the balancer goes away, so a
 * balancer killed with SIGKILL leaves no replica behind.
 */
export function runReplica(env: NodeJS.ProcessEnv = process.env, mode?: ReplicaMode): void {
  const serverId = env.SERVER_ID ?? '0';
  const port = Number(env.PORT ?? 5000);
  const host = env.HOST ?? '0.0.0.0';
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`replica: PORT must be an integer from 0 to 65535, not ${JSON.stringify(env.PORT)}`);
    process.exit(2);
  }
  const server =
    mode?.cacheOrigin === undefined
      ? createReplicaServer(serverId)
      : createCacheServer({ origin: mode.cacheOrigin, capacity: mode.cacheSize, peerTimeoutMs: 500 });
  server.keepAliveTimeout = 65_000;
  server.listen(port, host, () => {
    const address = server.address();
    const actual = typeof address === 'object' && address ? address.port : port;
    // `ps` tells replicas apart: `ringlb replica "Server 3" :40123`.
    process.title = `ringlb replica ${JSON.stringify(env.SERVER_NAME ?? `Server ${serverId}`)} :${actual}`;
    if (process.send) {
      if (process.connected) process.send({ type: 'listening', port: actual }, () => undefined);
    } else {
      const cache = mode?.cacheOrigin === undefined ? {} : { cache: true, origin: mode.cacheOrigin };
      console.log(JSON.stringify({ msg: 'replica listening', serverId, host, port: actual, ...cache }));
    }
  });
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // A detached replica (shared membership) outlives the balancer that started it.
  if (env.RINGLB_REPLICA_DETACHED !== '1') process.on('disconnect', () => process.exit(0));
}
