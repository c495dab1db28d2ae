import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { connect, type ClientHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../src/cli/config.js';
import { balancer } from './helpers.js';
import {
  ERROR,
  FRAME,
  RawH2,
  frame,
  headers,
  ping,
  requestFields,
  rstStream,
  settings,
} from '../bench/lib/h2-frames.js';

const run = promisify(execFile);
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An HTTP/1.1 replica that counts requests; `/slow` answers after 400 ms. */
async function replica(): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const server: Server = createServer((req, res) => {
    hits++;
    setTimeout(() => res.end('ok'), req.url?.startsWith('/slow') ? 400 : 0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits };
}

async function setup(overrides: Partial<Config> = {}) {
  const backend = await replica();
  const lb = await balancer({ provider: 'static', backends: [backend.url], h2c: true, ...overrides });
  cleanups.push(() => lb.close());
  return { lb, backend };
}

function raw(port: number): RawH2 {
  const client = new RawH2(port);
  cleanups.push(() => client.destroy());
  return client;
}

function session(port: number): ClientHttp2Session {
  const client = connect(`http://127.0.0.1:${port}`);
  client.on('error', () => undefined);
  cleanups.push(() => client.destroy());
  return client;
}

function get(client: ClientHttp2Session, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = client.request({ ':path': path });
    let status = 0;
    let body = '';
    stream.on('response', (head) => (status = Number(head[':status'])));
    stream.on('data', (chunk) => (body += chunk));
    stream.on('end', () => resolve({ status, body }));
    stream.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('HTTP/2 limits', () => {
  it('refuses streams past --h2-max-concurrent-streams with REFUSED_STREAM and answers the others', async () => {
    const { lb } = await setup({ h2MaxConcurrentStreams: 4 });
    const client = raw(lb.port);
    for (let i = 0; i < 6; i++) client.send(headers(1 + 2 * i, requestFields('/slow')));
    for (const id of [1, 3, 5, 7]) {
      expect(await client.until((f) => f.type === FRAME.DATA && f.stream === id)).toBeDefined();
    }
    expect(client.resetCode(9)).toBe(ERROR.REFUSED_STREAM);
    expect(client.resetCode(11)).toBe(ERROR.REFUSED_STREAM);
    expect(client.socket.destroyed).toBe(false);
  });

  it('answers 431 to a header list larger than --max-header-size, and serves one within it (curl)', async () => {
    const { lb } = await setup({ maxHeaderSize: 8 * 1024 });
    const curl = async (size: number) => {
      const { stdout } = await run('curl', [
        '-sS',
        '--http2-prior-knowledge',
        '-o',
        '/dev/null',
        '-w',
        '%{http_version} %{http_code}',
        '-H',
        `x-big: ${'a'.repeat(size)}`,
        `http://127.0.0.1:${lb.port}/x`,
      ]);
      return stdout;
    };
    expect(await curl(6 * 1024)).toBe('2 200');
    expect(await curl(10 * 1024)).toBe('2 431');
  });

  it('closes a connection that sends no request head within --headers-timeout', async () => {
    const { lb } = await setup({ headersTimeoutMs: 300, keepAliveTimeoutMs: 10_000 });
    const client = raw(lb.port);
    const started = Date.now();
    await client.closed;
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(250);
    expect(waited).toBeLessThan(3_000);
    expect(client.goaway()?.code).toBe(ERROR.NO_ERROR);
  });

  it('closes an idle connection after --keepalive-timeout even while the client PINGs', async () => {
    const { lb } = await setup({ keepAliveTimeoutMs: 400 });
    const client = raw(lb.port);
    client.send(headers(1, requestFields('/')));
    expect(await client.until((f) => f.type === FRAME.DATA && f.stream === 1)).toBeDefined();
    const started = Date.now();
    const pinger = setInterval(() => client.send(ping()), 50);
    await client.closed;
    clearInterval(pinger);
    // The PINGs were answered, and did not keep the connection open.
    expect(client.frames.some((f) => f.type === FRAME.PING)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(client.goaway()?.code).toBe(ERROR.NO_ERROR);
  });
});

describe('HTTP/2 floods', () => {
  it('answers a rapid-reset flood with GOAWAY ENHANCE_YOUR_CALM, while another client is served', async () => {
    const { lb, backend } = await setup();
    const other = session(lb.port);
    expect((await get(other, '/x')).status).toBe(200);
    const before = backend.hits();
    const attacker = raw(lb.port);
    // Streams opened and cancelled at once, ten per write; between writes the attacker waits for the
    // balancer to have read everything (a close with unread bytes would be a TCP reset, and the
    // GOAWAY would be lost with it).
    for (let round = 0; round < 40 && !attacker.goaway() && !attacker.socket.destroyed; round++) {
      const burst: Buffer[] = [];
      for (let i = 0; i < 10; i++) {
        const id = 1 + 2 * (round * 10 + i);
        burst.push(headers(id, requestFields(`/r${id}`)), rstStream(id, ERROR.CANCEL));
      }
      attacker.send(Buffer.concat(burst));
      await sleep(20);
    }
    await attacker.closed;
    expect(attacker.goaway()?.code).toBe(ERROR.ENHANCE_YOUR_CALM);
    // The flood stopped at the reset limit (100): at most that many requests reached the replica.
    expect(backend.hits() - before).toBeLessThanOrEqual(100);
    expect(await get(other, '/x')).toEqual({ status: 200, body: 'ok' });
  });

  it('lets a client cancel a few streams', async () => {
    const { lb } = await setup();
    const client = raw(lb.port);
    for (let i = 0; i < 20; i++) {
      client.send(headers(1 + 2 * i, requestFields('/slow')));
      if (i % 4 === 0) client.send(rstStream(1 + 2 * i, ERROR.CANCEL));
    }
    expect(await client.until((f) => f.type === FRAME.DATA && f.stream === 39)).toBeDefined();
    expect(client.goaway()).toBeUndefined();
  });

  it.each([
    ['SETTINGS', () => settings()],
    ['PING', () => ping(7)],
  ])('answers a %s flood with GOAWAY ENHANCE_YOUR_CALM', async (_name, make) => {
    const { lb } = await setup();
    const other = session(lb.port);
    const attacker = raw(lb.port);
    attacker.send(Buffer.concat(Array.from({ length: 500 }, make)));
    await attacker.closed;
    expect(attacker.goaway()?.code).toBe(ERROR.ENHANCE_YOUR_CALM);
    expect((await get(other, '/x')).status).toBe(200);
  });

  it('serves a client that sends a few PING and SETTINGS frames', async () => {
    const { lb } = await setup();
    const client = raw(lb.port);
    client.send(Buffer.concat([...Array.from({ length: 20 }, () => ping()), settings(), settings()]));
    client.send(headers(1, requestFields('/')));
    expect(await client.until((f) => f.type === FRAME.DATA && f.stream === 1)).toBeDefined();
    expect(client.goaway()).toBeUndefined();
  });

  it('closes a connection that floods empty DATA frames', async () => {
    const { lb } = await setup();
    const attacker = raw(lb.port);
    attacker.send(headers(1, requestFields('/slow', 'POST'), true));
    attacker.send(Buffer.concat(Array.from({ length: 500 }, () => frame(FRAME.DATA, 0, 1))));
    await attacker.closed;
    expect(attacker.goaway()).toBeDefined();
    expect(attacker.goaway()?.code).not.toBe(ERROR.NO_ERROR);
  });
});

describe('HTTP/2 shutdown', () => {
  it('sends GOAWAY when the balancer stops, and finishes the streams in flight', async () => {
    const backend = await replica();
    const lb = await balancer({
      provider: 'static',
      backends: [backend.url],
      h2c: true,
      drainTimeoutMs: 5_000,
    });
    const client = session(lb.port);
    expect((await get(client, '/x')).status).toBe(200);
    const goaway = new Promise<number>((resolve) => client.once('goaway', (code: number) => resolve(code)));
    const inFlight = get(client, '/slow');
    await sleep(100);
    const closing = lb.close();
    expect(await goaway).toBe(ERROR.NO_ERROR);
    // No new stream on a connection that got GOAWAY.
    await expect(get(client, '/x')).rejects.toThrow();
    expect(await inFlight).toEqual({ status: 200, body: 'ok' });
    await closing;
  });
});
