import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balancer, call, waitFor } from './helpers.js';

type Started = Awaited<ReturnType<typeof balancer>>;

interface Backend {
  server: Server;
  url: string;
  seen: { method: string; url: string; headers: IncomingMessage['headers']; bodyBytes: number }[];
  closedEarly: number;
}

/** A real HTTP server standing in for a service the user already runs, with a few test routes. */
async function backend(name: string): Promise<Backend> {
  const b: Backend = { server: undefined as unknown as Server, url: '', seen: [], closedEarly: 0 };
  b.server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let bodyBytes = 0;
    req.on('data', (chunk: Buffer) => (bodyBytes += chunk.length));
    req.on('end', () => {
      const path = req.url ?? '/';
      if (path !== '/health')
        b.seen.push({ method: req.method!, url: path, headers: req.headers, bodyBytes });
      if (path.startsWith('/echo-length')) {
        res.end(JSON.stringify({ name, bodyBytes }));
      } else if (path.startsWith('/chunked')) {
        res.setHeader('set-cookie', ['a=1', 'b=2']);
        res.write('part1-');
        setTimeout(() => res.end('part2'), 20);
      } else if (path.startsWith('/big')) {
        const size = 8 * 1024 * 1024;
        res.writeHead(200, { 'content-length': size });
        const chunk = Buffer.alloc(64 * 1024, 120);
        let sent = 0;
        const pump = () => {
          while (sent < size) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
      } else if (path.startsWith('/slow')) {
        res.once('close', () => {
          if (!res.writableFinished) b.closedEarly++;
        });
        setTimeout(() => res.end('late'), 3_000);
      } else if (path.startsWith('/no-content')) {
        res.writeHead(204);
        res.end();
      } else if (path.startsWith('/reset')) {
        req.socket.destroy();
      } else {
        res.setHeader('x-backend', name);
        res.setHeader('connection', 'keep-alive, x-hop');
        res.setHeader('x-hop', 'must not pass');
        res.end(`hello from ${name} ${path}`);
      }
    });
  });
  await new Promise<void>((resolve) => b.server.listen(0, '127.0.0.1', resolve));
  b.url = `http://127.0.0.1:${(b.server.address() as AddressInfo).port}`;
  return b;
}

/** Sends raw bytes and returns everything the balancer answers until it closes or goes quiet. */
function raw(port: number, bytes: string, quietMs = 300): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let out = '';
    let timer = setTimeout(() => socket.destroy(), quietMs);
    socket.on('data', (chunk) => {
      out += chunk.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(() => socket.destroy(), quietMs);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    socket.on('error', () => undefined);
    socket.write(bytes);
  });
}

describe('data path with existing servers (static provider)', () => {
  let a: Backend;
  let b: Backend;
  let lb: Started;
  beforeAll(async () => {
    [a, b] = await Promise.all([backend('a'), backend('b')]);
    lb = await balancer({ provider: 'static', backends: [a.url, b.url], healthPath: '/health' });
  });
  afterAll(async () => {
    await lb?.close();
    a?.server.closeAllConnections();
    b?.server.closeAllConnections();
    await Promise.all([a, b].map((x) => x && new Promise((resolve) => x.server.close(resolve))));
  });

  const total = () => a.seen.length + b.seen.length;
  const last = () => [...a.seen, ...b.seen].at(-1)!;

  it('forwards a GET with Host preserved, X-Forwarded-* added and hop-by-hop headers dropped both ways', async () => {
    const out = await raw(
      lb.port,
      'GET /hello?q=1 HTTP/1.1\r\nHost: lb.test\r\nx-request-id: 7\r\nX-Forwarded-For: 10.1.1.1\r\n' +
        'Connection: keep-alive, x-drop\r\nx-drop: 1\r\nKeep-Alive: timeout=5\r\n\r\n',
    );
    expect(out).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(out).toMatch(/\r\n\r\nhello from [ab] \/hello\?q=1$/);
    expect(out).not.toMatch(/x-hop/i);
    expect(out).toMatch(/\r\nx-backend: [ab]\r\n/i);
    const seen = last();
    expect(seen.headers.host).toBe('lb.test');
    // Without --trust-forwarded the client's own X-Forwarded-For is replaced, not appended to.
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-forwarded-host']).toBe('lb.test');
    expect(seen.headers['keep-alive']).toBeUndefined();
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-drop']).toBeUndefined();
    expect(seen.headers['x-request-id']).toBe('7');
  });

  it('passes the status of a 404 from a service it does not own, and 204s and HEADs without a body', async () => {
    expect((await call(`${lb.url}/no-content`)).status).toBe(204);
    const head = await raw(lb.port, 'HEAD /x HTTP/1.1\r\nHost: t\r\n\r\nGET /y HTTP/1.1\r\nHost: t\r\n\r\n');
    expect(head.match(/HTTP\/1\.1 200/g)).toHaveLength(2);
    expect(head).toMatch(/hello from [ab] \/y$/);
  });

  it('streams chunked responses with repeated headers, and big downloads', async () => {
    const chunked = await call(`${lb.url}/chunked`);
    expect(chunked.body).toBe('part1-part2');
    expect(chunked.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    const response = await fetch(`${lb.url}/big`);
    expect((await response.arrayBuffer()).byteLength).toBe(8 * 1024 * 1024);
  });

  it('streams request bodies of every method (fixed length and chunked)', async () => {
    const body = Buffer.alloc(5 * 1024 * 1024, 97);
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      const reply = await call(`${lb.url}/echo-length`, { method, body });
      expect(reply.body.bodyBytes).toBe(body.length);
    }
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new Uint8Array(1000).fill(98));
        controller.close();
      },
    });
    const reply = await fetch(`${lb.url}/echo-length`, {
      method: 'POST',
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(await reply.json()).toMatchObject({ bodyBytes: 10_000 });
  });

  it('answers pipelined requests in order on one connection', async () => {
    const out = await raw(
      lb.port,
      ['/p1', '/p2', '/p3']
        .map((path) => `GET ${path} HTTP/1.1\r\nHost: t\r\nx-request-id: 3\r\n\r\n`)
        .join(''),
    );
    const bodies = out.match(/hello from [ab] \/p\d/g);
    expect(bodies?.map((text) => text.slice(-3))).toEqual(['/p1', '/p2', '/p3']);
  });

  it('refuses smuggling and malformed requests with a 4xx, closes, and never reaches a service', async () => {
    const cases: [string, RegExp][] = [
      [
        'POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        /^HTTP\/1\.1 400/,
      ],
      [
        'POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!',
        /^HTTP\/1\.1 400/,
      ],
      ['POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5, 6\r\n\r\nhello!', /^HTTP\/1\.1 400/],
      ['POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n', /^HTTP\/1\.1 400/],
      ['GET / HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n  folded\r\n\r\n', /^HTTP\/1\.1 400/],
      ['GET / HTTP/1.1\r\nHost : t\r\n\r\n', /^HTTP\/1\.1 400/],
      ['GET / HTTP/1.1\nHost: t\n\n', /^HTTP\/1\.1 400/],
      ['GET / HTTP/1.1\r\n\r\n', /^HTTP\/1\.1 400/],
      [`GET / HTTP/1.1\r\nHost: t\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, /^HTTP\/1\.1 431/],
      ['GET / HTTP/3.0\r\nHost: t\r\n\r\n', /^HTTP\/1\.1 505/],
    ];
    const before = total();
    for (const [bytes, status] of cases) {
      const out = await raw(lb.port, bytes);
      expect(out, JSON.stringify(bytes)).toMatch(status);
      expect(out).toMatch(/connection: close/i);
      expect(out).toMatch(/"status":"failure"/);
    }
    expect(total()).toBe(before);
  });

  it('propagates a client abort to the service', async () => {
    const controller = new AbortController();
    const pending = fetch(`${lb.url}/slow`, { signal: controller.signal }).catch(() => 'aborted');
    const arrived = () => [...a.seen, ...b.seen].some((s) => s.url === '/slow');
    await waitFor('the slow request to arrive', () => (arrived() ? true : undefined));
    controller.abort();
    expect(await pending).toBe('aborted');
    await waitFor('the service to see the abort', () =>
      a.closedEarly + b.closedEarly === 1 ? true : undefined,
    );
  });

  it('retries an idempotent request on the next service when one resets it, but never a POST', async () => {
    // Find an id whose first choice is the service that will reset, by asking the ring.
    const ring = lb.cluster.table.ring;
    const id = [...Array(1000).keys()].find((k) => ring.members[ring.pick(k)]!.name === 'Server 1')!;
    const get = await call(`${lb.url}/reset`, { headers: { 'x-request-id': String(id) } });
    // Both services reset /reset, so the GET is tried on each of them and then reported.
    expect(get.status).toBe(502);
    expect(get.body.message).toMatch(/no other replica to try; last failure: replica 'Server \d' failed/);
    const post = await call(`${lb.url}/reset`, { method: 'POST', headers: { 'x-request-id': String(id) } });
    expect(post.status).toBe(502);
    expect(post.body.message).toMatch(/POST request is not retried/);
    const posts = [...a.seen, ...b.seen].filter((s) => s.method === 'POST' && s.url === '/reset');
    expect(posts).toHaveLength(1);
    const gets = [...a.seen, ...b.seen].filter((s) => s.method === 'GET' && s.url === '/reset');
    expect(gets.length).toBeGreaterThanOrEqual(2);
  });
});
