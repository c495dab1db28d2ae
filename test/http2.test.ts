import { connect, type ClientHttp2Session } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { makeCertificate, tempDir } from './certificates.js';
import { balancer, call } from './helpers.js';
import { echoReplicas, openWebSocket } from './websocket-peer.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function replicas(names: string[]): Promise<string[]> {
  return (await echoReplicas(names, cleanups)).map((replica) => replica.url);
}

async function withBalancer(overrides: Parameters<typeof balancer>[0]) {
  const lb = await balancer({ provider: 'static', ...overrides });
  cleanups.push(() => lb.close());
  return lb;
}

function session(url: string, ca?: string): ClientHttp2Session {
  const client = connect(url, ca ? { ca, servername: 'localhost' } : {});
  client.on('error', () => undefined);
  cleanups.push(() => client.destroy());
  return client;
}

function h2Request(
  client: ClientHttp2Session,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = client.request({
      ':path': path,
      ':method': body === undefined ? 'GET' : 'POST',
      ...headers,
    });
    let status = 0;
    let text = '';
    stream.on('response', (head) => (status = Number(head[':status'])));
    stream.on('data', (chunk) => (text += chunk));
    stream.on('end', () => resolve({ status, body: text }));
    stream.on('error', reject);
    stream.end(body);
  });
}

function httpsGet(port: number, path: string, ca: string, key: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path, ca, servername: 'localhost', headers: { 'x-request-id': key } },
      (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve(body));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const KEYS = ['1', '22', '333', '4444', '55555', '666666', '123', '98765', '31337', '2718'];

describe('HTTP/2 to clients', () => {
  it('negotiates h2 by ALPN and hashes each of many concurrent streams on its own key, as HTTP/1.1 and WebSockets do', async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const cert = makeCertificate(dir, 'h2');
    const lb = await withBalancer({
      backends: await replicas(['A', 'B', 'C']),
      tlsCert: cert.cert,
      tlsKey: cert.key,
    });
    const client = session(`https://localhost:${lb.port}`, cert.pem);
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    expect(client.alpnProtocol).toBe('h2');
    // All streams at once, on one connection.
    const replies = await Promise.all(KEYS.map((key) => h2Request(client, '/who', { 'x-request-id': key })));
    const owners = new Set<string>();
    for (const [i, key] of KEYS.entries()) {
      expect(replies[i]!.status).toBe(200);
      owners.add(replies[i]!.body);
      expect(await httpsGet(lb.port, '/who', cert.pem, key)).toBe(replies[i]!.body);
      const ws = await openWebSocket(lb.port, '/chat', { 'x-request-id': key }, cert.pem);
      ws.send('x');
      expect((await ws.next()).payload.toString()).toBe(`${replies[i]!.body}:x`);
      ws.socket.destroy();
    }
    expect(owners.size).toBeGreaterThan(1);
  });

  it('streams request bodies and serves the control API over HTTP/2', async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const cert = makeCertificate(dir, 'h2');
    const lb = await withBalancer({ backends: await replicas(['A']), tlsCert: cert.cert, tlsKey: cert.key });
    const client = session(`https://localhost:${lb.port}`, cert.pem);
    const posted = await h2Request(client, '/echo', {}, 'x'.repeat(100_000));
    expect(posted).toEqual({ status: 200, body: `A:${'x'.repeat(100_000)}` });
    const rep = await h2Request(client, '/rep');
    expect(rep.status).toBe(200);
    expect(JSON.parse(rep.body)).toMatchObject({ status: 'successful', message: { N: 1 } });
  });

  it('answers 503 on the stream when no replica is there, and keeps the connection', async () => {
    const lb = await withBalancer({ backends: await replicas(['A']), replicas: 0, h2c: true });
    const client = session(`http://127.0.0.1:${lb.port}`);
    expect((await h2Request(client, '/who')).status).toBe(503);
    expect((await h2Request(client, '/rep')).status).toBe(200);
  });

  it('speaks cleartext HTTP/2 with prior knowledge (--h2c) and HTTP/1.1 on the same port', async () => {
    const lb = await withBalancer({ backends: await replicas(['A', 'B', 'C']), h2c: true });
    const client = session(`http://127.0.0.1:${lb.port}`);
    for (const key of KEYS.slice(0, 4)) {
      const viaH2 = await h2Request(client, '/who', { 'x-request-id': key });
      const viaH1 = await call(`${lb.url}/who`, { headers: { 'x-request-id': key } });
      expect(viaH2.body).toBe(viaH1.body);
    }
  });

  it('closes an HTTP/2 connection that has had no stream for the keep-alive timeout', async () => {
    const lb = await withBalancer({ backends: await replicas(['A']), h2c: true, keepAliveTimeoutMs: 200 });
    const client = session(`http://127.0.0.1:${lb.port}`);
    expect((await h2Request(client, '/who')).body).toBe('A');
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const started = Date.now();
    await closed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('offers only HTTP/1.1 by ALPN with --http2 false', async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const cert = makeCertificate(dir, 'h1');
    const lb = await withBalancer({
      backends: await replicas(['A']),
      tlsCert: cert.cert,
      tlsKey: cert.key,
      http2: false,
    });
    const protocol = await new Promise<string | false | null>((resolve, reject) => {
      const socket = tlsConnect(
        {
          host: '127.0.0.1',
          port: lb.port,
          ca: cert.pem,
          servername: 'localhost',
          ALPNProtocols: ['h2', 'http/1.1'],
        },
        () => {
          resolve(socket.alpnProtocol);
          socket.destroy();
        },
      );
      socket.on('error', reject);
    });
    expect(protocol).toBe('http/1.1');
  });

  it('does not speak cleartext HTTP/2 without --h2c', async () => {
    const lb = await withBalancer({ backends: await replicas(['A']) });
    const client = session(`http://127.0.0.1:${lb.port}`);
    await expect(h2Request(client, '/who')).rejects.toThrow();
  });
});
