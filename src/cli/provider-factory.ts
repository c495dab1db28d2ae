import type { Logger } from 'pino';
import { DockerProvider } from '../providers/docker/docker-provider.js';
import { ProcessProvider } from '../providers/process-provider.js';
import type { Provider } from '../providers/provider.js';
import { StaticProvider } from '../providers/static-provider.js';
import type { Config } from './config.js';

/** The provider the configuration asks for. */
export function createProvider(config: Config, logger: Logger): Provider {
  if (config.provider === 'docker') {
    return new DockerProvider({
      socketPath: config.dockerSocket,
      image: config.dockerImage,
      cluster: config.clusterName,
      network: config.dockerNetwork || undefined,
      publishHost: config.dockerPublishHost,
      keepOnClose: config.dockerOnExit === 'keep',
      logger: logger.child({ provider: 'docker' }),
    });
  }
  if (config.provider === 'static') return new StaticProvider();
  // Its desired set is the service's count: the swarm provider comes with its store (swarm-factory).
  if (config.provider === 'swarm') throw new Error('the swarm provider is made with its store: createSwarm');
  return new ProcessProvider({ host: config.advertiseHost });
}

/** `GET /rep` carries the provider's state in a header, so the seed's body keeps its shape. */
export function providerStatusHeader(provider: Provider): string {
  const status = provider.status?.() ?? { available: true };
  if (status.available) return `${provider.kind}; available`;
  // Header values are one line of visible ASCII.
  const detail = (status.detail ?? '').replace(/[^\x20-\x7e]/g, ' ');
  return `${provider.kind}; unavailable; ${detail}`;
}
