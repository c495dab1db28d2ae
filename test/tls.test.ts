import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { connect as tlsConnect } from 'node:tls';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startBalancer } from '../src/cli/balancer.js';
import { configSchema, type Config } from '../src/cli/config.js';
import { makeCertificate, replaceByRename, tempDir, type Certificate } from './certificates.js';
import { startCli } from './cli-process.js';
import { waitFor } from './helpers.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A backend that answers with its name, the path, and the protocol the balancer says the client used. */
async function namedBackend(name: string): Promise<string> {
  const server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () =>
      res.end(JSON.stringify({ name, path: req.url, proto: req.headers['x-forwarded-proto'], body })),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A balancer whose log lines are kept, to check what it says about certificates. */
async function tlsBalancer(overrides: Partial<Config>) {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  const config = configSchema.parse({ port: 0, host: '127.0.0.1', provider: 'static', ...overrides });
  const lb = await startBalancer(config, pino({ level: 'info' }, sink));
  cleanups.push(() => lb.close());
  return { lb, lines };
}

async function setup(extra: Partial<Config> = {}) {
  const { dir, remove } = tempDir();
  cleanups.push(remove);
  const first = makeCertificate(dir, 'live');
  const backends = [await namedBackend('A'), await namedBackend('B')];
  const { lb, lines } = await tlsBalancer({ backends, tlsCert: first.cert, tlsKey: first.key, ...extra });
  return { dir, first, lb, lines };
}

function get(
  port: number,
  path: string,
  ca: string,
  options: { agent?: Agent; method?: string; body?: string } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        ca,
        method: options.method ?? 'GET',
        servername: 'localhost',
        ...(options.agent ? { agent: options.agent } : {}),
      },
      (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The SHA-256 fingerprint of the certificate a fresh handshake presents. */
function presented(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      { host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false },
      () => {
        resolve(socket.getPeerCertificate().fingerprint256);
        socket.destroy();
      },
    );
    socket.on('error', reject);
  });
}

function fingerprint(cert: Certificate): string {
  return new X509Certificate(cert.pem).fingerprint256;
}

describe('TLS termination', () => {
  it('serves the fast path and requests with bodies over TLS, and tells replicas it was https', async () => {
    const { first, lb } = await setup();
    const plain = await get(lb.port, '/home', first.pem);
    expect(plain.status).toBe(200);
    expect(JSON.parse(plain.body)).toMatchObject({ path: '/home', proto: 'https' });
    const posted = await get(lb.port, '/echo', first.pem, { method: 'POST', body: 'hello' });
    expect(JSON.parse(posted.body)).toMatchObject({ path: '/echo', body: 'hello', proto: 'https' });
  });

  it('refuses TLS older than the minimum version', async () => {
    const { lb } = await setup({ tlsMinVersion: 'TLSv1.3' });
    const handshake = (maxVersion: 'TLSv1.2' | 'TLSv1.3') =>
      new Promise<string>((resolve) => {
        const socket = tlsConnect(
          { host: '127.0.0.1', port: lb.port, rejectUnauthorized: false, maxVersion },
          () => {
            resolve(socket.getProtocol() ?? '');
            socket.destroy();
          },
        );
        socket.on('error', (error) => resolve(`error: ${error.message}`));
      });
    expect(await handshake('TLSv1.3')).toBe('TLSv1.3');
    expect(await handshake('TLSv1.2')).toMatch(/^error/);
  });

  it('answers plain HTTP on the TLS port with a 400 that says to use https', async () => {
    const { lb } = await setup();
    const reply = await new Promise<{ status: number | undefined; body: string }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: lb.port, path: '/home' }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.body)).toEqual({
      message: '<Error> this port speaks TLS: use https://',
      status: 'failure',
    });
  });

  it('reloads a certificate renamed into place, without dropping open connections', async () => {
    const { dir, first, lb, lines } = await setup();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    expect((await get(lb.port, '/before', first.pem, { agent })).status).toBe(200);
    expect(await presented(lb.port)).toBe(fingerprint(first));

    const next = makeCertificate(dir, 'next');
    const expected = fingerprint(next);
    const renamedAt = Date.now();
    replaceByRename(next, first);
    await waitFor(
      'the new certificate',
      async () => ((await presented(lb.port)) === expected ? true : undefined),
      5_000,
    );
    const visibleAfterMs = Date.now() - renamedAt;
    console.info(`certificate reload visible to new handshakes ${visibleAfterMs} ms after the rename`);
    expect(visibleAfterMs).toBeLessThan(2_000);
    expect(lines.some((line) => line.msg === 'TLS certificate reloaded')).toBe(true);

    // The connection opened before the reload is still the same one, and still served.
    const socketsBefore = Object.values(agent.freeSockets).flat().length;
    expect(socketsBefore).toBe(1);
    const after = await get(lb.port, '/after', first.pem, { agent });
    const reused = Object.values(agent.freeSockets).flat().length === 1;
    expect(after.status).toBe(200);
    expect(reused).toBe(true);
  });

  it('keeps the old pair when the new one does not match, and says so', async () => {
    const { dir, first, lb, lines } = await setup();
    const before = await presented(lb.port);
    const stranger = makeCertificate(dir, 'stranger');
    // Only the key is replaced: it does not belong to the certificate in place.
    replaceByRename(
      { ...stranger, cert: `${dir}/stranger.crt` },
      { cert: `${dir}/unused.crt`, key: first.key },
    );
    await waitFor('the refusal in the log', () =>
      lines.some((line) => line.level >= 50 && line.msg.includes('refused')) ? true : undefined,
    );
    expect(await presented(lb.port)).toBe(before);
    expect((await get(lb.port, '/still', first.pem)).status).toBe(200);
  });

  it('redirects plain HTTP to https with a 308', async () => {
    const free = createNetServer();
    await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
    const redirectPort = (free.address() as AddressInfo).port;
    await new Promise((resolve) => free.close(resolve));
    const { lb } = await setup({ httpRedirectPort: redirectPort });
    const response = await fetch(`http://127.0.0.1:${redirectPort}/home?x=1`, { redirect: 'manual' });
    expect(response.status).toBe(308);
    expect(response.headers.get('location')).toBe(`https://127.0.0.1:${lb.port}/home?x=1`);
  });
});

describe('TLS with --workers 2', () => {
  it('serves TLS from every worker and every worker reloads the certificate', async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const first = makeCertificate(dir, 'live');
    const lb = await startCli(
      '--workers',
      '2',
      '--replicas',
      '1',
      '--tls-cert',
      first.cert,
      '--tls-key',
      first.key,
    );
    cleanups.push(async () => {
      lb.child.kill('SIGTERM');
      await lb.exited;
    });
    // Fresh connections, so that both workers answer some.
    for (let i = 0; i < 6; i++) {
      const reply = await get(lb.port, '/home', first.pem, { agent: new Agent({ keepAlive: false }) });
      expect(JSON.parse(reply.body).message).toBe('Hello from Server: 1');
    }
    const next = makeCertificate(dir, 'next');
    replaceByRename(next, first);
    await waitFor('every worker to present the new certificate', async () => {
      const seen = await Promise.all(Array.from({ length: 8 }, () => presented(lb.port)));
      return seen.every((print) => print === fingerprint(next)) ? true : undefined;
    });
  });
});

describe('TLS settings', () => {
  it('needs both the certificate and the key', () => {
    expect(configSchema.safeParse({ tlsCert: '/x.crt' }).success).toBe(false);
    expect(configSchema.safeParse({ httpRedirectPort: 8080 }).success).toBe(false);
  });
});
