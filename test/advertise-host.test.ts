import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/cli/config.js';
import { balancer, call } from './helpers.js';

/** Whether something accepts TCP connections at host:port. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('--advertise-host', () => {
  const open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const b of open.splice(0)) await b.close();
  });

  it('is the address replicas listen on and are reached at, not 127.0.0.1', async () => {
    // 127.0.0.2 is a loopback address of its own: a replica bound to it is not reachable at 127.0.0.1.
    const lb = await balancer({ advertiseHost: '127.0.0.2', replicas: 2, workers: 1 });
    open.push(lb);
    const replicas = lb.cluster.describe();
    expect(replicas).toHaveLength(2);
    for (const replica of replicas) {
      const url = new URL(replica.origin!);
      expect(url.hostname).toBe('127.0.0.2');
      expect(await accepts('127.0.0.2', Number(url.port))).toBe(true);
      expect(await accepts('127.0.0.1', Number(url.port))).toBe(false);
    }
    const home = await call(`${lb.url}/home`, { headers: { 'x-request-id': '42' } });
    expect(home.status).toBe(200);
    expect(home.body.message).toMatch(/^Hello from Server: [12]$/);
  });

  it('defaults to 127.0.0.1, is where Docker publishes unless told otherwise, and refuses wildcards', () => {
    expect(loadConfig([], {})).toMatchObject({ advertiseHost: '127.0.0.1', dockerPublishHost: '127.0.0.1' });
    expect(loadConfig(['--advertise-host', '10.0.0.7'], {}).dockerPublishHost).toBe('10.0.0.7');
    expect(
      loadConfig(['--advertise-host', '10.0.0.7', '--docker-publish-host', '10.0.0.8'], {}).dockerPublishHost,
    ).toBe('10.0.0.8');
    expect(loadConfig([], { RINGLB_ADVERTISE_HOST: 'lb-2.example' }).advertiseHost).toBe('lb-2.example');
    expect(() => loadConfig(['--advertise-host', '::'], {})).toThrow(
      `--advertise-host: "::" listens on every address but names none that others can reach: give this host's address`,
    );
    expect(() => loadConfig(['--advertise-host', 'http://10.0.0.7'], {})).toThrow(
      '--advertise-host: expected an IP address (without brackets) or a host name, got "http://10.0.0.7"',
    );
  });
});
