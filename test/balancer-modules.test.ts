import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MAIN } from './main-path.js';

/**
 * What a balancer process loads decides much of its RSS (issue 14: at most 80 MB for one process).
 * undici alone is ~15 MB once loaded, and the default data path never needs it: it is required
 * lazily, by the node:http path, the Docker provider and the workers' relay. Node's module debug log
 * names every CommonJS file a process loads, which is how undici (CommonJS) would show up.
 */
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function backend(): Promise<Server> {
  const server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => server.close());
  return server;
}

describe('a balancer process loads only what its data path needs', () => {
  it('serves a request on the default data path without loading undici', async () => {
    const server = await backend();
    const port = (server.address() as AddressInfo).port;
    const child = spawn(
      process.execPath,
      [MAIN, 'start', '--host', '127.0.0.1', '--port', '0', '--workers', '1'].concat([
        '--provider',
        'static',
        '--backends',
        `http://127.0.0.1:${port}`,
      ]),
      { env: { ...process.env, NODE_DEBUG: 'module' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    cleanups.push(() => child.exitCode === null && child.kill('SIGKILL'));
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const listening = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        for (const line of out.split('\n')) {
          if (line.includes('"ringlb listening"')) resolve(JSON.parse(line).port as number);
        }
      });
      child.once('exit', (code) => reject(new Error(`ringlb exited with ${code}:\n${stderr.slice(-2000)}`)));
    });
    const response = await fetch(`http://127.0.0.1:${listening}/home`, {
      headers: { 'x-request-id': '7' },
    });
    expect(await response.text()).toContain('ok');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    // The log does list modules (the check would be empty otherwise), and undici is not among them.
    expect(stderr).toMatch(/node_modules\/prom-client\//);
    expect(stderr).not.toMatch(/node_modules\/undici\//);
  });
});
