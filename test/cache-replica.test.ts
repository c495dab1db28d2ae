import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MAIN, running, startCli } from './cli-process.js';
import { call } from './helpers.js';

/**
 * `ringlb replica --cache` as its own process behind a ringlb process: misses go to the origin once,
 * and after an /add the new owner of a key fetches it from the previous owner that ringlb's hint
 * names, not from the origin.
 */

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A small origin that counts what it is asked for. */
async function origin(): Promise<{ url: string; fetched: string[] }> {
  const fetched: string[] = [];
  const server: Server = createServer((req, res) => {
    fetched.push(req.url ?? '');
    if (req.url?.startsWith('/missing')) {
      res.writeHead(404);
      return void res.end();
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ item: req.url }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, fetched };
}

/** `ringlb replica --cache` as a child process; resolves with its URL once it listens. */
async function cacheReplica(originUrl: string): Promise<string> {
  const child = spawn(process.execPath, [MAIN, 'replica', '--cache', '--origin', originUrl], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  running.push(child);
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const line = buffered.split('\n').find((l) => l.includes('"replica listening"'));
      if (line) resolve(JSON.parse(line).port);
    });
    child.once('exit', (code) => reject(new Error(`the cache replica exited with ${code}`)));
  });
  return `http://127.0.0.1:${port}`;
}

async function get(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers });
  return { status: response.status, cache: response.headers.get('x-cache'), body: await response.text() };
}

describe('ringlb replica --cache', () => {
  it('answers a miss from the origin once, then from its entry; a peer lookup never reaches the origin', async () => {
    const o = await origin();
    const replica = await cacheReplica(o.url);
    expect((await get(`${replica}/heartbeat`)).status).toBe(200);
    const first = await get(`${replica}/item/1?v=2`);
    expect(first).toEqual({ status: 200, cache: 'origin', body: JSON.stringify({ item: '/item/1?v=2' }) });
    expect(await get(`${replica}/item/1?v=2`)).toEqual({ ...first, cache: 'hit' });
    // Concurrent misses of one key share one fetch.
    await Promise.all(Array.from({ length: 10 }, () => get(`${replica}/item/2`)));
    expect(o.fetched).toEqual(['/item/1?v=2', '/item/2']);
    // A peer asks for its entries only.
    expect((await get(`${replica}/item/3`, { 'x-ringlb-cache-peer': '1' })).status).toBe(404);
    expect((await get(`${replica}/item/1?v=2`, { 'x-ringlb-cache-peer': '1' })).cache).toBe('hit');
    expect(o.fetched).toHaveLength(2);
    // What the origin lacks is a 404, and is not kept.
    expect((await get(`${replica}/missing/1`)).status).toBe(404);
    expect((await get(`${replica}/missing/1`)).status).toBe(404);
    expect(o.fetched).toHaveLength(4);
    // A hint that names a replica without the entry (or no replica at all) falls back to the origin.
    const hinted = await get(`${replica}/item/4`, { 'x-ringlb-previous-owner': 'S9 http://127.0.0.1:1' });
    expect(hinted.cache).toBe('origin');
    expect((await fetch(`${replica}/item/1`, { method: 'POST' })).status).toBe(405);
  });

  it('after /add, the keys that moved are fetched from their previous owner, not from the origin', async () => {
    const o = await origin();
    const replicas = [await cacheReplica(o.url), await cacheReplica(o.url), await cacheReplica(o.url)];
    const lb = await startCli(
      '--provider',
      'static',
      '--backends',
      replicas.slice(0, 2).join(','),
      '--health-path',
      '/heartbeat',
      '--ring',
      'ketama',
      '--hash-key',
      'uri',
      '--handoff-window',
      '30',
    );
    const paths = Array.from({ length: 120 }, (_, k) => `/item/${k}`);
    for (const path of paths) expect((await get(`${lb.url}${path}`)).status).toBe(200);
    expect(o.fetched).toHaveLength(paths.length);
    for (const path of paths) expect((await get(`${lb.url}${path}`)).cache).toBe('hit');

    const added = await call(`${lb.url}/add`, {
      method: 'POST',
      json: { backends: [replicas[2]], hostnames: ['S3'] },
    });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    const sources = new Map<string, number>();
    for (const path of paths) {
      const got = await get(`${lb.url}${path}`);
      expect(got.status).toBe(200);
      sources.set(got.cache!, (sources.get(got.cache!) ?? 0) + 1);
    }
    // The moved keys (about a third) came from their previous owners; the origin saw nothing new.
    expect(sources.get('peer')).toBeGreaterThan(10);
    expect(sources.get('origin')).toBeUndefined();
    expect(o.fetched).toHaveLength(paths.length);
    // And the new owner keeps them: the next round is all hits.
    for (const path of paths) expect((await get(`${lb.url}${path}`)).cache).toBe('hit');
  }, 30_000);

  it('refuses options it does not know, and --origin without --cache', async () => {
    for (const args of [['--bogus'], ['--origin', 'http://127.0.0.1:1'], ['--cache']]) {
      const child = spawn(process.execPath, [MAIN, 'replica', ...args], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      running.push(child);
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code, stderr).not.toBe(0);
      expect(stderr).toMatch(/replica: .*see ringlb replica --help/);
    }
  });
});
