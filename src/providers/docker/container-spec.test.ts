import { describe, expect, it } from 'vitest';
import { replicaContainerSpec, replicaOrigin } from './container-spec.js';
import { LABEL_CLUSTER } from './labels.js';

const base = { cluster: 'blue', image: 'ringlb:latest', publishHost: '127.0.0.1', stopTimeoutS: 2 };

describe('replicaContainerSpec', () => {
  it('runs the replica command with an init, its id, labels and no restart policy', () => {
    const spec = replicaContainerSpec({ name: 'S5', number: 5 }, { ...base, network: undefined }) as any;
    expect(spec.Image).toBe('ringlb:latest');
    expect(spec.Cmd).toEqual(['replica']);
    expect(spec.Env).toEqual(['SERVER_ID=5', 'PORT=5000', 'HOST=0.0.0.0']);
    expect(spec.Labels[LABEL_CLUSTER]).toBe('blue');
    expect(spec.StopTimeout).toBe(2);
    expect(spec.HostConfig.Init).toBe(true);
    expect(spec.HostConfig.RestartPolicy).toEqual({ Name: 'no' });
  });

  it('publishes the port on the host address without a network, and not with one', () => {
    const published = replicaContainerSpec({ name: 'S5', number: 5 }, { ...base, network: undefined }) as any;
    expect(published.HostConfig.PortBindings).toEqual({
      '5000/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }],
    });
    expect(published.HostConfig.NetworkMode).toBeUndefined();
    const networked = replicaContainerSpec(
      { name: 'S5', number: 5 },
      { ...base, network: 'blue-net' },
    ) as any;
    expect(networked.HostConfig.NetworkMode).toBe('blue-net');
    expect(networked.HostConfig.PortBindings).toBeUndefined();
  });
});

describe('replicaOrigin', () => {
  it('is the container name on a network', () => {
    expect(replicaOrigin('S5', null, { network: 'net', publishHost: '127.0.0.1' })).toBe('http://S5:5000');
  });

  it('is the published port on the host address otherwise', () => {
    const ports = {
      '5000/tcp': [
        { HostIp: '::1', HostPort: '40001' },
        { HostIp: '127.0.0.1', HostPort: '40000' },
      ],
    };
    expect(replicaOrigin('S5', ports, { network: undefined, publishHost: '127.0.0.1' })).toBe(
      'http://127.0.0.1:40000',
    );
  });

  it('is undefined when nothing is published (e.g. a container made for a network)', () => {
    const options = { network: undefined, publishHost: '127.0.0.1' };
    expect(replicaOrigin('S5', null, options)).toBeUndefined();
    expect(replicaOrigin('S5', { '5000/tcp': null }, options)).toBeUndefined();
    expect(
      replicaOrigin('S5', { '5000/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] }, options),
    ).toBeUndefined();
  });
});
