import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balancer } from './helpers.js';

const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

type Started = Awaited<ReturnType<typeof balancer>>;

/** Runs the built `ringlb` command as its own process. */
function ringlb(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, RINGLB_URL: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A loopback port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('ringlb status / add / rm against a running balancer', () => {
  let lb: Started;
  beforeAll(async () => {
    lb = await balancer();
  });
  afterAll(async () => {
    await lb?.close();
  });

  it('shows a table of replicas, and JSON with --json', async () => {
    const table = await ringlb('status', '--url', lb.url);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^REPLICA\s+STATE\s+KEY SHARE\s+REQ\/S\s+P99\s+LAST CHECK$/);
    expect(lines.slice(1).map((line) => line.split(/\s{2,}/).slice(0, 2))).toEqual([
      ['Server 1', 'healthy'],
      ['Server 2', 'healthy'],
      ['Server 3', 'healthy'],
    ]);
    const json = await ringlb('status', '--json', `--url=${lb.url}`);
    expect(json.code).toBe(0);
    const { replicas } = JSON.parse(json.stdout) as { replicas: { name: string; share: number }[] };
    expect(replicas.map((r) => r.name)).toEqual(['Server 1', 'Server 2', 'Server 3']);
    expect(replicas.reduce((sum, r) => sum + r.share, 0)).toBeCloseTo(1);
  });

  it('adds and removes replicas by name and by count', async () => {
    const added = await ringlb('add', 'S5', '--n', '2', '--url', lb.url, '--json');
    expect(added.code).toBe(0);
    expect(JSON.parse(added.stdout).message).toEqual({
      N: 5,
      replicas: ['Server 1', 'Server 2', 'Server 3', 'S5', 'Server 5'],
    });
    const removed = await ringlb('rm', 'S5', 'Server 5', '--url', lb.url);
    expect(removed.code).toBe(0);
    expect(removed.stdout).not.toMatch(/S5|Server 5/);
    expect(lb.cluster.names()).toEqual(['Server 1', 'Server 2', 'Server 3']);
  });

  it('exits 1 with the balancer message when it refuses, and changes nothing', async () => {
    const refused = await ringlb('rm', 'nobody', '--url', lb.url);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe("ringlb rm: <Error> hostname 'nobody' is not a replica\n");
    expect(lb.cluster.names()).toEqual(['Server 1', 'Server 2', 'Server 3']);
  });

  it('exits 2 on bad usage and 3 when the balancer cannot be reached', async () => {
    const usage = await ringlb('add', '--n', 'two', '--url', lb.url);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--n: "two" is not a positive integer/);
    const port = await closedPort();
    const unreachable = await ringlb('status', '--url', `http://127.0.0.1:${port}`);
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toMatch(
      /cannot reach the balancer at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/,
    );
  });

  it('prints help for each command', async () => {
    const help = await ringlb('rm', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: ringlb rm \[--n N\] \[NAME\.\.\.\]/);
    expect(help.stdout).toMatch(/--url <url> .*\(default http:\/\/127\.0\.0\.1:5000\)\s+\[RINGLB_URL\]/);
    const main = await ringlb('--help');
    expect(main.stdout).toMatch(/ringlb status/);
  });
});
