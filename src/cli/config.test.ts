import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has the seed defaults', () => {
    expect(loadConfig([], {})).toMatchObject({ port: 5000, replicas: 3, ringSize: 512, vnodes: 9 });
  });

  it('takes flags over environment over the config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringlb-config-'));
    const file = join(dir, 'ringlb.json');
    writeFileSync(file, JSON.stringify({ port: 6000, replicas: 5, vnodes: 4 }));
    const config = loadConfig(['--config', file, '--port=7000'], {
      RINGLB_PORT: '6500',
      RINGLB_REPLICAS: '4',
    });
    expect(config).toMatchObject({ port: 7000, replicas: 4, vnodes: 4 });
    expect(loadConfig([], { RINGLB_CONFIG: file })).toMatchObject({ port: 6000, replicas: 5 });
  });

  it('refuses bad values with the setting, its flag and its variable named', () => {
    expect(() => loadConfig(['--port', 'abc'], {})).toThrow(/port \(--port, RINGLB_PORT\)/);
    expect(() => loadConfig(['--port', '70000'], {})).toThrow(/port/);
    expect(() => loadConfig([], { RINGLB_VNODES: '0' })).toThrow(/vnodes/);
    expect(() => loadConfig(['--replicas', '60'], {})).toThrow(/replicas × vnodes must be at most ringSize/);
    expect(() => loadConfig(['--bogus', '1'], {})).toThrow(/unknown option --bogus/);
    expect(() => loadConfig(['--port'], {})).toThrow(/--port needs a value/);
    expect(() => loadConfig(['--log-level', 'loud'], {})).toThrow(/logLevel/);
  });

  it('refuses a config file that is missing, not JSON or has unknown keys', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringlb-config-'));
    expect(() => loadConfig(['--config', join(dir, 'none.json')], {})).toThrow(/cannot read config file/);
    writeFileSync(join(dir, 'bad.json'), '{');
    expect(() => loadConfig(['--config', join(dir, 'bad.json')], {})).toThrow(/not a JSON object/);
    writeFileSync(join(dir, 'extra.json'), '{"prot": 1}');
    expect(() => loadConfig(['--config', join(dir, 'extra.json')], {})).toThrow(/prot/);
  });
});

describe('Docker provider settings', () => {
  it('default to local processes, and the Docker settings to the seed-like layout', () => {
    expect(loadConfig([], {})).toMatchObject({
      provider: 'process',
      dockerSocket: '/var/run/docker.sock',
      dockerImage: 'ringlb:latest',
      dockerNetwork: '',
      dockerPublishHost: '127.0.0.1',
      dockerOnExit: 'remove',
      clusterName: 'ringlb',
    });
  });

  it('come from flags and environment variables', () => {
    const config = loadConfig(
      ['--provider', 'docker', '--docker-network', 'ringlb-net', '--cluster-name=blue'],
      {
        RINGLB_DOCKER_ON_EXIT: 'keep',
        RINGLB_DOCKER_IMAGE: 'mine:1',
      },
    );
    expect(config).toMatchObject({
      provider: 'docker',
      dockerNetwork: 'ringlb-net',
      clusterName: 'blue',
      dockerOnExit: 'keep',
      dockerImage: 'mine:1',
    });
  });

  it('refuse values that cannot work, naming the setting', () => {
    expect(() => loadConfig(['--provider', 'kubernetes'], {})).toThrow(
      /provider \(--provider, RINGLB_PROVIDER\)/,
    );
    expect(() => loadConfig(['--cluster-name', 'Blue Team'], {})).toThrow(/clusterName/);
    expect(() => loadConfig(['--docker-network', 'bad net'], {})).toThrow(/dockerNetwork/);
    expect(() => loadConfig(['--docker-on-exit', 'sometimes'], {})).toThrow(/dockerOnExit/);
    expect(() => loadConfig(['--docker-socket', ''], {})).toThrow(/dockerSocket/);
  });
});
