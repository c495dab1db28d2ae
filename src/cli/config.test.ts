import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, ringSettingsOf } from './config.js';

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

  it('takes the ring settings and the hash key, with the seed ring and request id by default', () => {
    const defaults = loadConfig([], {});
    expect(ringSettingsOf(defaults)).toEqual({
      algorithm: 'classic',
      ringSize: 512,
      vnodes: 9,
      ketamaPoints: 160,
      maglevTableSize: 65537,
      balanceFactor: 0,
    });
    expect(defaults.hashKey).toBe('request-id');
    const config = loadConfig(
      [
        '--ring',
        'maglev',
        '--maglev-table-size',
        '1009',
        '--balance-factor=1.25',
        '--hash-key',
        'cookie:sid',
      ],
      { RINGLB_KETAMA_POINTS: '100' },
    );
    expect(config).toMatchObject({
      ring: 'maglev',
      maglevTableSize: 1009,
      balanceFactor: 1.25,
      hashKey: 'cookie:sid',
      ketamaPoints: 100,
    });
    // Other rings hold more replicas than the seed ring's 56.
    expect(loadConfig(['--ring', 'ketama', '--replicas', '60'], {}).replicas).toBe(60);
  });

  it('refuses bad ring settings and hash keys, naming the setting', () => {
    expect(() => loadConfig(['--ring', 'chord'], {})).toThrow(/ring \(--ring, RINGLB_RING\)/);
    expect(() => loadConfig(['--ring', 'maglev', '--maglev-table-size', '1000'], {})).toThrow(
      /maglevTableSize \(--maglev-table-size, RINGLB_MAGLEV_TABLE_SIZE\): the maglev table size must be a prime number; 1000 is not \(nearest primes: 997, 1009\)/,
    );
    expect(() => loadConfig(['--balance-factor', '0.9'], {})).toThrow(
      /balanceFactor .*0 \(off\) or from 1 to 100/,
    );
    expect(() => loadConfig(['--balance-factor', 'high'], {})).toThrow(/balanceFactor/);
    expect(() => loadConfig(['--hash-key', 'header:'], {})).toThrow(
      /hashKey \(--hash-key, RINGLB_HASH_KEY\): hash key "header:" needs a header name/,
    );
    expect(() =>
      loadConfig(['--ring', 'maglev', '--maglev-table-size', '101', '--replicas', '11'], {}),
    ).toThrow(/replicas does not fit the maglev ring: it holds at most 10/);
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
