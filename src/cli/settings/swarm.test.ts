import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';

describe('swarm provider settings', () => {
  it('reads the service, network and replica port from flags or the environment', () => {
    expect(loadConfig(['--provider', 'swarm', '--swarm-service', 'shop_replica'], {})).toMatchObject({
      provider: 'swarm',
      swarmService: 'shop_replica',
      swarmNetwork: '',
      swarmReplicaPort: 5000,
    });
    expect(
      loadConfig([], {
        RINGLB_PROVIDER: 'swarm',
        RINGLB_SWARM_SERVICE: 'shop_replica',
        RINGLB_SWARM_NETWORK: 'shop_replicas',
        RINGLB_SWARM_REPLICA_PORT: '8080',
      }),
    ).toMatchObject({ swarmNetwork: 'shop_replicas', swarmReplicaPort: 8080 });
  });

  it('needs a service, and says so; works in etcd mode too', () => {
    expect(() => loadConfig(['--provider', 'swarm'], {})).toThrow(
      '--swarm-service: the swarm provider needs the name of the service whose tasks are the replicas',
    );
    expect(
      loadConfig(
        [
          '--provider',
          'swarm',
          '--swarm-service',
          's',
          '--membership',
          'etcd',
          '--etcd-endpoints',
          'http://127.0.0.1:2379',
        ],
        {},
      ),
    ).toMatchObject({ provider: 'swarm', membership: 'etcd' });
    expect(() => loadConfig(['--provider', 'swarm', '--swarm-service', 'a b'], {})).toThrow(
      /--swarm-service: expected a Swarm service name/,
    );
    expect(() => loadConfig(['--swarm-replica-port', '0'], {})).toThrow(/--swarm-replica-port/);
  });
});
