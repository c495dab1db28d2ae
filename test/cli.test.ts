import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { call, isAlive, waitFor } from './helpers.js';
import { childrenOf, MAIN, running, startCli } from './cli-process.js';

describe('the ringlb command', () => {
  it('prints help and its version', () => {
    const help = spawnSync(process.execPath, [MAIN, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/Usage:\n  ringlb start \[options\]/);
    expect(help.stdout).toMatch(/--ring-size/);
    const version = spawnSync(process.execPath, [MAIN, '--version'], { encoding: 'utf8' });
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('refuses bad settings with exit code 2 and a message naming the setting', () => {
    const bad = spawnSync(process.execPath, [MAIN, 'start', '--vnodes', 'many'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch('--vnodes: expected a whole number from 1 to 4096, got "many"');
    const unknown = spawnSync(process.execPath, [MAIN, 'launch'], { encoding: 'utf8' });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "launch"/);
  });

  it('serves the seed API and leaves no replica behind on SIGTERM', async () => {
    const lb = await startCli('--replicas', '2');
    expect((await call(`${lb.url}/rep`)).body.message).toEqual({ N: 2, replicas: ['Server 1', 'Server 2'] });
    expect((await call(`${lb.url}/home`)).status).toBe(200);
    const replicas = childrenOf(lb.child.pid!);
    expect(replicas).toHaveLength(2);
    lb.child.kill('SIGTERM');
    expect(await lb.exited).toBe(0);
    for (const pid of replicas) expect(isAlive(pid)).toBe(false);
  });

  it('leaves no replica behind when it is killed with SIGKILL', async () => {
    const lb = await startCli();
    const replicas = childrenOf(lb.child.pid!);
    expect(replicas).toHaveLength(3);
    lb.child.kill('SIGKILL');
    await lb.exited;
    await waitFor('replicas to exit', () => (replicas.some(isAlive) ? undefined : true), 5_000);
  });

  it('exits with an error when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const child = spawn(process.execPath, [MAIN, 'start', '--host', '127.0.0.1', '--port', String(port)], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      running.push(child);
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      // Caught before anything starts (test/first-hour.test.ts has the whole message).
      expect(code).toBe(2);
      expect(stderr).toMatch(/--port: 127\.0\.0\.1:\d+ is in use/);
    } finally {
      blocker.close();
    }
  });
});
