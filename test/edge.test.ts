import { createServer as createNetServer, connect, type AddressInfo, type Server } from 'node:net';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { balancer, call, waitFor } from './helpers.js';

type Started = Awaited<ReturnType<typeof balancer>>;
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function withBalancer(overrides: Parameters<typeof balancer>[0]): Promise<Started> {
  const lb = await balancer(overrides);
  cleanups.push(() => lb.close());
  return lb;
}

/** A replica that answers every request on a connection with `answer` (raw bytes, or nothing). */
async function hostileReplica(answer: (socket: import('node:net').Socket) => void): Promise<string> {
  const server: Server = createNetServer((socket) => {
    socket.on('error', () => undefined);
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      if (buffered.includes('\r\n\r\n')) {
        // Health checks get a proper answer so that the replica stays in the ring.
        if (buffered.startsWith('GET /health '))
          socket.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
        else answer(socket);
        buffered = '';
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function echoService(): Promise<{ url: string; seen: IncomingMessage[] }> {
  const seen: IncomingMessage[] = [];
  const server = createHttpServer((req, res) => {
    if (req.url !== '/health') seen.push(req);
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function rawExchange(port: number, bytes: string, waitMs = 400): Promise<{ out: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let out = '';
    let closed = false;
    socket.on('data', (chunk) => (out += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => (closed = true));
    socket.write(bytes);
    setTimeout(() => {
      socket.destroy();
      resolve({ out, closed });
    }, waitMs);
  });
}

const TOKEN = 'correct-horse-battery-staple';

describe('a closed control plane', () => {
  it('needs the admin token for every change, compares it, and changes nothing without it', async () => {
    const lb = await withBalancer({ replicas: 1, adminToken: TOKEN });
    const missing = await call(`${lb.url}/add`, { method: 'POST' });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect(missing.body).toEqual({
      message: '<Error> this call needs "Authorization: Bearer <admin token>"',
      status: 'failure',
    });
    const wrong = await call(`${lb.url}/rm`, { method: 'DELETE', headers: { authorization: 'Bearer nope' } });
    expect(wrong).toMatchObject({ status: 401, body: { message: '<Error> the admin token is wrong' } });
    expect((await call(`${lb.url}/rep`)).body.message.N).toBe(1);
    const right = await call(`${lb.url}/add`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(right.status).toBe(200);
    expect(right.body.message.N).toBe(2);
  });

  it('serves the control API only on the admin listener when one is set', async () => {
    const probe = createNetServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const adminPort = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const lb = await withBalancer({ replicas: 1, adminListen: `127.0.0.1:${adminPort}` });
    const admin = `http://127.0.0.1:${adminPort}`;
    expect((await call(`${admin}/rep`)).body.message.N).toBe(1);
    expect((await call(`${admin}/add`, { method: 'POST' })).body.message.N).toBe(2);
    // On the public port /add is just a path like any other: proxied, and no replica serves it.
    const publicAdd = await call(`${lb.url}/add`, { method: 'POST' });
    expect(publicAdd.status).toBe(400);
    expect(publicAdd.body.message).toBe("<Error> '/add' endpoint does not exist in server replicas");
    expect((await call(`${admin}/rep`)).body.message.N).toBe(2);
    expect((await call(`${admin}/home`)).status).toBe(404);
  });
});

describe('slow and greedy clients', () => {
  it('closes a connection that dribbles its head past the headers timeout, while others are served', async () => {
    const lb = await withBalancer({ replicas: 1, headersTimeoutMs: 1_000 });
    const socket = connect(lb.port, '127.0.0.1');
    socket.on('error', () => undefined);
    const head = 'GET /home HTTP/1.1\r\nHost: t\r\nX-Slow: ' + 'a'.repeat(100);
    let sent = 0;
    const started = Date.now();
    const dribble = setInterval(() => socket.write(head[sent++ % head.length]!), 100);
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    const closedAfter = await new Promise<number>((resolve) =>
      socket.on('close', () => resolve(Date.now() - started)),
    );
    clearInterval(dribble);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(closedAfter).toBeGreaterThanOrEqual(1_000);
    expect(closedAfter).toBeLessThan(2_500);
    expect((await call(`${lb.url}/home`)).status).toBe(200);
  });

  it('closes idle keep-alive connections after the keep-alive timeout', async () => {
    const lb = await withBalancer({ replicas: 1, keepAliveTimeoutMs: 300 });
    const { out, closed } = await rawExchange(lb.port, 'GET /home HTTP/1.1\r\nHost: t\r\n\r\n', 900);
    expect(out).toMatch(/^HTTP\/1\.1 200/);
    expect(closed).toBe(true);
  });

  it('closes a connection it ended when the client leaves its own side open past the keep-alive timeout', async () => {
    const lb = await withBalancer({ replicas: 1, keepAliveTimeoutMs: 300 });
    // allowHalfOpen: the client never ends its side on its own after the balancer's FIN.
    const socket = connect({ port: lb.port, host: '127.0.0.1', allowHalfOpen: true });
    cleanups.push(() => void socket.destroy());
    socket.on('error', () => undefined);
    let out = '';
    socket.on('data', (chunk: Buffer) => (out += chunk.toString('latin1')));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('GET /home HTTP/1.1\r\nHost: t\r\nbad header line\r\n\r\n');
    await new Promise<void>((resolve) => socket.once('end', () => resolve()));
    expect(out).toMatch(/^HTTP\/1\.1 400/);
    const connections = () =>
      new Promise<number>((resolve, reject) =>
        lb.server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
      );
    // Ended but still open on the client's side: the balancer holds it, then closes it.
    expect(await connections()).toBe(1);
    await waitFor(
      'the balancer to close the connection',
      async () => ((await connections()) === 0 ? true : undefined),
      3_000,
    );
  });

  it('refuses connections over --max-connections at once', async () => {
    const lb = await withBalancer({ replicas: 1, maxConnections: 3 });
    const held = await Promise.all(
      [0, 1, 2].map(
        () =>
          new Promise<import('node:net').Socket>((resolve) => {
            const s = connect(lb.port, '127.0.0.1', () => resolve(s));
            s.on('error', () => undefined);
          }),
      ),
    );
    cleanups.push(() => held.forEach((s) => s.destroy()));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const extra = await rawExchange(lb.port, 'GET /home HTTP/1.1\r\nHost: t\r\n\r\n', 300);
    expect(extra.out).toBe('');
    expect(extra.closed).toBe(true);
  });

  it('refuses a proxied body over --max-body-size with a 413 and passes a smaller one', async () => {
    const service = await echoService();
    const lb = await withBalancer({
      provider: 'static',
      backends: [service.url],
      healthPath: '/health',
      maxBodySize: 1024,
    });
    expect((await call(`${lb.url}/upload`, { method: 'POST', body: 'x'.repeat(1000) })).status).toBe(200);
    const big = await call(`${lb.url}/upload`, { method: 'POST', body: 'x'.repeat(5000) });
    expect(big.status).toBe(413);
    expect(big.body.message).toBe('<Error> the body is larger than 1024 bytes');
    expect(service.seen).toHaveLength(1);
  });

  it('keeps and appends to a client X-Forwarded-For only with --trust-forwarded', async () => {
    const service = await echoService();
    const lb = await withBalancer({
      provider: 'static',
      backends: [service.url],
      healthPath: '/health',
      trustForwarded: true,
    });
    await call(`${lb.url}/x`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(service.seen[0]!.headers['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
  });
});

describe('requests on connections handed to the general-purpose server', () => {
  it('sends an absolute-form target on in origin form with its own host', async () => {
    const service = await echoService();
    const lb = await withBalancer({ provider: 'static', backends: [service.url], healthPath: '/health' });
    const { out } = await rawExchange(
      lb.port,
      'GET http://app.example/x?y=1 HTTP/1.1\r\nHost: app.example\r\n\r\n',
    );
    expect(out).toMatch(/^HTTP\/1\.1 200/);
    expect(service.seen[0]!.url).toBe('/x?y=1');
    expect(service.seen[0]!.headers.host).toBe('app.example');
  });

  it("answers what node's parser refuses with the JSON failure body and closes", async () => {
    const service = await echoService();
    const lb = await withBalancer({ provider: 'static', backends: [service.url], healthPath: '/health' });
    // The body hands the connection over; the second request has a control character in a value.
    const { out, closed } = await rawExchange(
      lb.port,
      'POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi' +
        'GET /b HTTP/1.1\r\nHost: t\r\nX-Bad: a\x01b\r\n\r\n',
    );
    // node's parser reads ahead and refuses the pipelined request before answering the first one.
    expect(out).toMatch(
      /HTTP\/1\.1 400 Bad Request\r\ncontent-type: application\/json[\s\S]*"status":"failure"/,
    );
    expect(closed).toBe(true);
    expect(service.seen.map((r) => r.url)).not.toContain('/b');
  });
});

describe('hostile replicas', () => {
  const cases: [string, (socket: import('node:net').Socket) => void, number][] = [
    ['a bad status line', (s) => s.write('HTTP/1.1 2OO OK\r\ncontent-length: 2\r\n\r\nok'), 502],
    ['Content-Length: abc', (s) => s.write('HTTP/1.1 200 OK\r\ncontent-length: abc\r\n\r\nok'), 502],
    [
      '200 KB of headers',
      (s) =>
        s.write(
          `HTTP/1.1 200 OK\r\n${'x-junk: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n'.repeat(5_000)}\r\n`,
        ),
      502,
    ],
    [
      'two lengths',
      (s) => s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nok'),
      502,
    ],
    ['a close before any byte', (s) => s.destroy(), 502],
    ['no answer at all', () => undefined, 504],
  ];
  for (const [what, answer, status] of cases) {
    it(`answers ${status} with a JSON error when a replica sends ${what}, and stays up`, async () => {
      const url = await hostileReplica(answer);
      const lb = await withBalancer({
        provider: 'static',
        backends: [url],
        healthPath: '/health',
        upstreamTimeoutMs: 500,
        retries: 0,
      });
      const reply = await call(`${lb.url}/x`);
      expect(reply.status).toBe(status);
      expect(reply.body.status).toBe('failure');
      expect(reply.body.message).toMatch(/^<Error> replica 'Server 1'/);
      expect((await call(`${lb.url}/rep`)).status).toBe(200);
    });
  }

  it('cuts the client connection cleanly when a replica closes mid-body', async () => {
    const url = await hostileReplica((s) => {
      s.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial');
      setTimeout(() => s.destroy(), 50);
    });
    const lb = await withBalancer({ provider: 'static', backends: [url], healthPath: '/health', retries: 0 });
    const { out, closed } = await rawExchange(lb.port, 'GET /x HTTP/1.1\r\nHost: t\r\n\r\n', 500);
    expect(out).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(out).toMatch(/partial$/);
    expect(closed).toBe(true);
  });
});
