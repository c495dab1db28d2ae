import type { Logger } from 'pino';
import { SwarmDesiredStore } from '../membership/store/swarm-store.js';
import { SwarmProvider } from '../providers/swarm/swarm-provider.js';
import { SwarmService } from '../providers/swarm/swarm-service.js';
import type { Config } from './config.js';

/**
 * `--provider swarm`: one followed service, read by both the desired store (the service's count)
 * and the provider (its tasks). No leader is needed: Swarm starts the tasks, and every balancer
 * writes the count at the service's version.
 */
export function createSwarm(config: Config, logger: Logger) {
  const service = new SwarmService({
    socketPath: config.dockerSocket,
    service: config.swarmService,
    network: config.swarmNetwork,
    logger: logger.child({ provider: 'swarm' }),
  });
  return {
    store: new SwarmDesiredStore(service),
    provider: new SwarmProvider(service, { port: config.swarmReplicaPort }),
    /** Checks the swarm, the service and its network, and starts following it. */
    open: () => service.open(),
  };
}
