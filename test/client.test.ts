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
    expect(lines[0]).toMatch(/^REPLICA\s+STATE\s+ADDRESS\s+PROCESS\s+KEY SHARE\s+REQ\/S\s+P99\s+LAST CHECK$/);
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
    expect(usage.stderr).toMatch(/--n: expected a whole number from 1 up, got "two"/);
    const port = await closedPort();
    const unreachable = await ringlb('status', '--url', `http://127.0.0.1:${port}`);
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toMatch(
      /cannot reach the balancer at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/,
    );
  });

  it('plans a change as a table, with the owners of given keys, and changes nothing', async () => {
    const before = (await fetch(`${lb.url}/ring`).then((r) => r.json())) as unknown;
    const ring = lb.cluster.table.ring;
    const owner = (key: number) => ring.members[ring.pick(key)]!.name;
    const planned = await ringlb('plan', 'add', 'S4', '--key', '42', '--key', '7', '--url', lb.url);
    expect(planned.code, planned.stderr).toBe(0);
    const json = await ringlb('plan', 'add', 'S4', '--key', '42', '--key', '7', '--url', lb.url, '--json');
    const reply = JSON.parse(json.stdout) as {
      moved: number;
      owners: Record<string, { before: string; after: string }>;
    };
    expect(reply.owners['42']!.before).toBe(owner(42));
    const lines = planned.stdout.split('\n');
    expect(lines[0]).toBe(
      `ringlb plan add: ${(reply.moved * 100).toFixed(1)} % of the key space would move (nothing changed)`,
    );
    expect(lines[1]).toBe('would add: S4');
    expect(lines).toContainEqual(expect.stringMatching(/^REPLICA\s+SHARE BEFORE\s+SHARE AFTER\s+CHANGE/));
    expect(lines).toContainEqual(expect.stringMatching(/^S4\s+-\s+\d+\.\d %\s+\+\d+\.\d$/));
    const key42 = lines.find((line) => line.startsWith('42 '))!;
    expect(key42.split(/\s{2,}/)).toEqual([
      '42',
      reply.owners['42']!.before,
      reply.owners['42']!.after,
      reply.owners['42']!.before === reply.owners['42']!.after ? 'stays' : 'moves',
    ]);
    const switched = await ringlb('plan', 'ring', '--ring', 'maglev', '--url', lb.url);
    expect(switched.code, switched.stderr).toBe(0);
    expect(switched.stdout).toMatch(/^ringlb plan ring: \d+\.\d % of the key space would move/);
    expect(lb.cluster.names()).toEqual(['Server 1', 'Server 2', 'Server 3']);
    expect(await fetch(`${lb.url}/ring`).then((r) => r.json())).toEqual(before);
  });

  it('plan exits 1 with the balancer message when the change would be refused', async () => {
    const refused = await ringlb('plan', 'rm', 'nobody', '--url', lb.url);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe("ringlb plan rm: <Error> hostname 'nobody' is not a replica\n");
    const weight = await ringlb('plan', 'weight', 'Server 1', '2', '--url', lb.url);
    expect(weight.code).toBe(1);
    expect(weight.stderr).toMatch(/^ringlb plan weight: <Error> the classic ring has no weights/);
    const usage = await ringlb('plan', 'ring', '--n', '2', '--url', lb.url);
    expect(usage.code).toBe(2);
  });

  it('prints help for each command', async () => {
    const help = await ringlb('rm', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: ringlb rm \[--n N\] \[NAME\.\.\.\]/);
    expect(help.stdout).toMatch(/--url <url> .*\(default http:\/\/127\.0\.0\.1:5000\)\s+\[RINGLB_URL\]/);
    const main = await ringlb('--help');
    expect(main.stdout).toMatch(/ringlb status/);
    expect(main.stdout).toMatch(/ringlb plan add\|rm\|ring\|weight/);
    const plan = await ringlb('plan', 'ring', '--help');
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(/^Usage: ringlb plan add /);
    expect(plan.stdout).toMatch(/--balance-factor <value> .*\(default as in force\)/);
  });
});
