import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ringSettingsOf } from '../ring/registry.js';
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
    expect(() => loadConfig(['--port', 'abc'], {})).toThrow(
      '--port: expected a whole number from 0 to 65535, got "abc"',
    );
    expect(() => loadConfig(['--port', '70000'], {})).toThrow(/port/);
    expect(() => loadConfig([], { RINGLB_VNODES: '0' })).toThrow(
      'RINGLB_VNODES: expected a whole number from 1 to 4096, got 0',
    );
    expect(() => loadConfig(['--replicas', '60'], {})).toThrow(
      '--replicas: 60 do not fit the classic ring: replicas × vnodes must be at most ringSize (it holds 56); raise --ring-size, or choose --ring maglev or ketama',
    );
    expect(() => loadConfig(['--bogus', '1'], {})).toThrow(/unknown option --bogus/);
    expect(() => loadConfig(['--port'], {})).toThrow(/--port needs a value/);
    expect(() => loadConfig(['--log-level', 'loud'], {})).toThrow(
      /--log-level: expected one of fatal, error/,
    );
  });

  it('refuses a config file that is missing, not JSON or has unknown keys', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringlb-config-'));
    expect(() => loadConfig(['--config', join(dir, 'none.json')], {})).toThrow(
      /--config: cannot read ".*none\.json": no such file \(ENOENT\)/,
    );
    writeFileSync(join(dir, 'bad.json'), '{');
    expect(() => loadConfig(['--config', join(dir, 'bad.json')], {})).toThrow(/not a JSON object/);
    writeFileSync(join(dir, 'extra.json'), '{"prot": 1}');
    expect(() => loadConfig(['--config', join(dir, 'extra.json')], {})).toThrow(
      /config file .*extra.json: unknown setting "prot"/,
    );
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
      {},
    );
    expect(config).toMatchObject({
      ring: 'maglev',
      maglevTableSize: 1009,
      balanceFactor: 1.25,
      hashKey: 'cookie:sid',
    });
    // Other rings hold more replicas than the seed ring's 56.
    expect(loadConfig(['--ring', 'ketama', '--replicas', '60'], {}).replicas).toBe(60);
  });

  it('refuses bad ring settings and hash keys, naming the setting', () => {
    expect(() => loadConfig(['--ring', 'chord'], {})).toThrow(
      '--ring: expected one of classic, ketama, maglev, rendezvous, got "chord"',
    );
    expect(() => loadConfig(['--ring', 'maglev', '--maglev-table-size', '1000'], {})).toThrow(
      /--maglev-table-size: the maglev table size must be a prime number; 1000 is not \(nearest primes: 997, 1009\)/,
    );
    expect(() => loadConfig(['--balance-factor', '0.9'], {})).toThrow(
      /--balance-factor: the balance factor must be 0 \(off\) or from 1 to 100, not 0.9/,
    );
    expect(() => loadConfig(['--balance-factor', 'high'], {})).toThrow(
      '--balance-factor: expected 0 (off) or a number from 1 to 100, got "high"',
    );
    expect(() => loadConfig(['--hash-key', 'header:'], {})).toThrow(
      /--hash-key: hash key "header:" needs a header name/,
    );
    expect(() =>
      loadConfig(['--ring', 'maglev', '--maglev-table-size', '101', '--replicas', '11'], {}),
    ).toThrow(/--replicas: 11 do not fit the maglev ring: it holds at most 10/);
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
      '--provider: expected one of process, docker, static, swarm, got "kubernetes"',
    );
    expect(() => loadConfig(['--cluster-name', 'Blue Team'], {})).toThrow(
      /--cluster-name: expected 1 to 31 lowercase letters/,
    );
    expect(() => loadConfig(['--docker-network', 'bad net'], {})).toThrow(
      /--docker-network: expected a Docker network name/,
    );
    expect(() => loadConfig(['--docker-on-exit', 'sometimes'], {})).toThrow(
      '--docker-on-exit: expected one of remove, keep, got "sometimes"',
    );
    expect(() => loadConfig(['--docker-socket', ''], {})).toThrow(
      '--docker-socket: expected a file name, got ""',
    );
  });
});

describe('static backends', () => {
  const load = (backends: string) => () => loadConfig(['--provider', 'static', '--backends', backends], {});
  it('take http:// and h2c:// origins, each once', () => {
    expect(load('http://127.0.0.1:1,h2c://127.0.0.1:2,h2c://127.0.0.1:3')().backends).toHaveLength(3);
  });
  it('refuse a backend twice, a path, and other schemes, naming the backend', () => {
    expect(load('http://127.0.0.1:1,http://127.0.0.1:1')).toThrow(
      '--backends: "http://127.0.0.1:1" is listed twice: give each backend once',
    );
    expect(load('h2c://127.0.0.1:2,h2c://127.0.0.1:2/')).toThrow(/"h2c:\/\/127.0.0.1:2\/" is listed twice/);
    expect(load('http://127.0.0.1:1/prefix')).toThrow(
      '--backends: "http://127.0.0.1:1/prefix" has a path, query or user: give scheme, host and port only (paths are not forwarded)',
    );
    expect(load('ftp://127.0.0.1:1')).toThrow(
      '--backends: expected an http:// or h2c:// URL, got "ftp://127.0.0.1:1"',
    );
  });
});
