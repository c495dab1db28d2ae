// What the cluster benchmarks share: free ports, polling, and a real 3-member etcd on loopback.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls `check` every 10 ms until it gives something other than undefined. */
export async function waitFor(what, check, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * Debian's etcd as a 3-member cluster on loopback, data under `dir`; each process is pushed onto
 * `started` (for the caller to kill). Resolves with the client endpoints, comma-separated, once
 * every member reports itself healthy.
 */
export async function startEtcd(dir, started) {
  const ports = [];
  for (let i = 0; i < 3; i++) ports.push({ client: await freePort(), peer: await freePort() });
  const initial = ports.map((p, i) => `m${i}=http://127.0.0.1:${p.peer}`).join(',');
  const token = randomUUID();
  for (const [i, p] of ports.entries()) {
    const client = `http://127.0.0.1:${p.client}`;
    const peer = `http://127.0.0.1:${p.peer}`;
    const args = ['--name', `m${i}`, '--data-dir', join(dir, `m${i}`), '--listen-client-urls', client];
    args.push('--advertise-client-urls', client, '--listen-peer-urls', peer);
    args.push(
      '--initial-advertise-peer-urls',
      peer,
      '--initial-cluster',
      initial,
      '--initial-cluster-token',
      token,
    );
    args.push('--heartbeat-interval', '50', '--election-timeout', '500', '--log-level', 'error');
    started.push(spawn('/usr/bin/etcd', args, { stdio: 'ignore' }));
  }
  const endpoints = ports.map((p) => `http://127.0.0.1:${p.client}`);
  await waitFor('etcd', async () => {
    const ok = await Promise.all(
      endpoints.map((e) =>
        fetch(`${e}/health`, { signal: AbortSignal.timeout(1_000) })
          .then((r) => r.json())
          .then((b) => b.health === 'true')
          .catch(() => false),
      ),
    );
    return ok.every(Boolean) ? true : undefined;
  });
  return endpoints.join(',');
}
