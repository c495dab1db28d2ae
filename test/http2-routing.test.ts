import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer as createHttp1Server, type Server } from 'node:http';
import {
  connect,
  constants,
  createServer,
  type ClientHttp2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../src/cli/config.js';
import { makeCertificate, tempDir } from './certificates.js';
import { balancer, call } from './helpers.js';
import { delta, parseMetrics } from './prometheus-text.js';

const run = promisify(execFile);
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Lb = Awaited<ReturnType<typeof balancer>>;

async function start(backends: string[], overrides: Partial<Config> = {}): Promise<Lb> {
  const lb = await balancer({ provider: 'static', backends, h2c: true, ...overrides });
  cleanups.push(() => lb.close());
  return lb;
}

function client(lb: Lb): ClientHttp2Session {
  const session = connect(`http://127.0.0.1:${lb.port}`);
  session.on('error', () => undefined);
  cleanups.push(() => session.destroy());
  return session;
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  trailers: IncomingHttpHeaders;
}

function request(
  session: ClientHttp2Session,
  headers: Record<string, string>,
  body?: Buffer,
  slowReader = false,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': body ? 'POST' : 'GET', ...headers }, { endStream: !body });
    const reply: Reply = { status: 0, headers: {}, body: Buffer.alloc(0), trailers: {} };
    const chunks: Buffer[] = [];
    stream.on('response', (head) => {
      reply.status = Number(head[':status']);
      reply.headers = head;
    });
    stream.on('trailers', (trailers) => (reply.trailers = trailers));
    stream.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (slowReader && chunks.length % 8 === 0) {
        // A client that stops reading now and then: flow control must hold the replica back.
        stream.pause();
        setTimeout(() => stream.resume(), 20);
      }
    });
    stream.on('end', () => resolve({ ...reply, body: Buffer.concat(chunks) }));
    stream.on('error', reject);
    if (body) stream.end(body);
  });
}

/** A gRPC message: uncompressed flag, 4-byte length, payload. */
function grpcFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

function grpcCall(
  session: ClientHttp2Session,
  method: string,
  key: string,
  extra: Record<string, string> = {},
) {
  return request(
    session,
    {
      ':path': `/test.Echo/${method}`,
      'content-type': 'application/grpc',
      te: 'trailers',
      'x-request-id': key,
      ...extra,
    },
    grpcFrame('hi'),
  );
}

/** Whichever status a gRPC reply carries (trailers, or trailers-only headers). */
function grpcStatus(reply: Reply): string | undefined {
  return (reply.trailers['grpc-status'] ?? reply.headers['grpc-status']) as string | undefined;
}

/** A request id whose first pick on the balancer's ring is `name`. */
function idFor(lb: Lb, name: string): string {
  const ring = lb.cluster.table.ring;
  for (let id = 0; id < 100_000; id++) if (ring.members[ring.pick(id)]!.name === name) return String(id);
  throw new Error(`no id for ${name}`);
}

type Behaviour = 'answer' | 'refuse' | 'calm' | 'drop' | 'reset' | 'headers-then-reset' | 'slow';

/**
 * An h2c replica (Node's HTTP/2 server, as gRPC servers are) that answers its heartbeat and
 * otherwise behaves as told: answers with its name (echoing a gRPC message, with trailers),
 * refuses the stream, resets it, drops the whole session, or answers after 1.5 s.
 */
async function h2cReplica(name: string, behaviour: Behaviour) {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer();
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', (stream: ServerHttp2Stream, headers) => {
    stream.on('error', () => undefined);
    if (headers[':path'] === '/heartbeat') {
      stream.respond({ ':status': 200 });
      stream.end();
      return;
    }
    seen.push(headers);
    const grpc = headers['content-type'] === 'application/grpc';
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      if (behaviour === 'refuse') return stream.close(constants.NGHTTP2_REFUSED_STREAM);
      if (behaviour === 'calm') return stream.close(constants.NGHTTP2_ENHANCE_YOUR_CALM);
      if (behaviour === 'reset') return stream.close(constants.NGHTTP2_INTERNAL_ERROR);
      if (behaviour === 'drop') return stream.session?.destroy();
      if (behaviour === 'headers-then-reset') {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
        // destroy, not close(code): Node's close ends a half-closed stream cleanly instead.
        setTimeout(() => stream.destroy(new Error('broken')), 20);
        return;
      }
      const answer = () => {
        if (stream.destroyed) return;
        const body = Buffer.concat(chunks);
        if (!grpc) {
          stream.respond({ ':status': 200, 'x-replica': name });
          stream.end(body.length > 0 ? body : name);
          return;
        }
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'x-replica': name }));
        stream.end(body);
      };
      if (behaviour === 'slow') setTimeout(answer, 1500);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    for (const session of sessions) session.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  return { url: `h2c://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

/** An HTTP/1.1 replica: answers its heartbeat; `/reset` paths get the connection destroyed if `resets`. */
async function http1Replica(name: string, resets = false) {
  let hits = 0;
  const server: Server = createHttp1Server((req, res) => {
    if (req.url !== '/heartbeat') hits++;
    if (resets && req.url?.startsWith('/reset')) return req.socket.destroy();
    if (req.url === '/echo') {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => res.end(Buffer.concat(chunks)));
      return;
    }
    if (req.url === '/trailers') {
      // Chunked, with a trailer section (repeated field included) after the last chunk.
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum, x-note' });
      res.write('part one, ');
      res.write('part two');
      res.addTrailers([
        ['X-Checksum', 'abc123'],
        ['X-Note', 'first'],
        ['X-Note', 'second'],
        ['Content-Length', '5'],
      ]);
      res.end();
      return;
    }
    if (req.url === '/cut') {
      // Promises 100 kB, sends 1 kB, and breaks off.
      res.writeHead(200, { 'content-length': '100000' });
      res.write(Buffer.alloc(1000));
      setTimeout(() => req.socket.destroy(), 20);
      return;
    }
    if (req.url?.startsWith('/big')) {
      const size = Number(req.url.split('/')[2]);
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      // Chunked (no length), in pieces: the balancer re-frames it for HTTP/2.
      const piece = Buffer.alloc(64 * 1024);
      let sent = 0;
      const more = () => {
        while (sent < size) {
          const chunk = piece.subarray(0, Math.min(piece.length, size - sent));
          chunk.fill(sent % 251);
          sent += chunk.length;
          if (!res.write(Buffer.from(chunk))) return void res.once('drain', more);
        }
        res.end();
      };
      more();
      return;
    }
    res.end(name);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits };
}

function bigBody(size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let at = 0; at < size; at += 64 * 1024) out.fill(at % 251, at, Math.min(size, at + 64 * 1024));
  return out;
}

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('HTTP/2 through the router', () => {
  it('counts HTTP/2 and gRPC requests and their retries in the metrics, labelled by protocol', async () => {
    const a = await http1Replica('A', true);
    const b = await http1Replica('B');
    const lb = await start([a.url, b.url], { outlierFailures: 100 });
    const session = client(lb);
    const scrape = async () => parseMetrics((await call(`${lb.url}/metrics`)).body as string);
    const before = await scrape();
    const toA = idFor(lb, 'Server 1');
    for (let i = 0; i < 4; i++) {
      expect((await request(session, { ':path': '/x', 'x-request-id': toA })).body.toString()).toBe('A');
    }
    // Reset by A before any response: a GET is tried again on B, and the retry is counted.
    const retried = await request(session, { ':path': '/reset', 'x-request-id': toA });
    expect(retried.body.toString()).toBe('B');
    const after = await scrape();
    expect(delta(before, after, 'ringlb_requests_total{code="200",protocol="h2",replica="Server 1"}')).toBe(
      4,
    );
    expect(delta(before, after, 'ringlb_requests_total{code="200",protocol="h2",replica="Server 2"}')).toBe(
      1,
    );
    expect(delta(before, after, 'ringlb_retries_total{protocol="h2"}')).toBe(1);
    expect(
      delta(before, after, 'ringlb_requests_total{code="200",protocol="http1",replica="Server 1"}'),
    ).toBe(0);

    const g = await h2cReplica('G', 'answer');
    const grpcLb = await start([g.url]);
    const grpcSession = client(grpcLb);
    const grpcBefore = parseMetrics((await call(`${grpcLb.url}/metrics`)).body as string);
    for (let i = 0; i < 3; i++) expect(grpcStatus(await grpcCall(grpcSession, 'Unary', String(i)))).toBe('0');
    const grpcAfter = parseMetrics((await call(`${grpcLb.url}/metrics`)).body as string);
    expect(
      delta(grpcBefore, grpcAfter, 'ringlb_requests_total{code="200",protocol="grpc",replica="Server 1"}'),
    ).toBe(3);
  });

  it.each(['refuse', 'calm', 'drop'] as const)(
    'tries a GET again on the next replica when an h2c replica does not answer it (%s), over HTTP/2 and HTTP/1.1',
    async (behaviour) => {
      const a = await h2cReplica('A', behaviour);
      const b = await h2cReplica('B', 'answer');
      // Passive health would eject A after 5 failures; here every request must meet A first.
      const lb = await start([a.url, b.url], { outlierFailures: 1000 });
      const session = client(lb);
      const toA = idFor(lb, 'Server 1');
      for (let i = 0; i < 10; i++) {
        const viaH2 = await request(session, { ':path': `/get/${i}`, 'x-request-id': toA });
        expect(viaH2.status).toBe(200);
        expect(viaH2.body.toString()).toBe('B');
        const viaH1 = await call(`${lb.url}/get/${i}`, { headers: { 'x-request-id': toA } });
        expect(viaH1.status).toBe(200);
        expect(viaH1.body).toBe('B');
      }
    },
  );

  it('does not send a POST twice once an h2c replica may have seen it, and says so', async () => {
    const a = await h2cReplica('A', 'reset');
    const b = await h2cReplica('B', 'answer');
    const lb = await start([a.url, b.url]);
    const reply = await request(
      client(lb),
      { ':path': '/post', 'x-request-id': idFor(lb, 'Server 1') },
      Buffer.from('x'),
    );
    expect(reply.status).toBe(502);
    expect(JSON.parse(reply.body.toString())).toMatchObject({ status: 'failure' });
    expect(b.seen).toHaveLength(0);
  });

  it('sends a POST that an h2c replica refused (REFUSED_STREAM: never processed) to the next one, body and all', async () => {
    const a = await h2cReplica('A', 'refuse');
    const b = await h2cReplica('B', 'answer');
    const lb = await start([a.url, b.url]);
    const body = bigBody(40_000);
    const reply = await request(
      client(lb),
      { ':path': '/post', 'x-request-id': idFor(lb, 'Server 1') },
      body,
    );
    expect(reply.status).toBe(200);
    expect(sha(reply.body)).toBe(sha(body));
  });

  it('answers Expect: 100-continue itself and sends the body on (curl --http2-prior-knowledge)', async () => {
    const h1 = await http1Replica('H1');
    const lb = await start([h1.url]);
    const started = Date.now();
    const { stdout } = await run('curl', [
      ...['-sS', '--http2-prior-knowledge', '--expect100-timeout', '10', '-H', 'Expect: 100-continue'],
      ...['--data-binary', 'x'.repeat(5000), '-w', ' %{http_code}', `http://127.0.0.1:${lb.port}/echo`],
    ]);
    expect(stdout).toBe(`${'x'.repeat(5000)} 200`);
    // Without the balancer's 100, curl would wait its 10 s before sending the body.
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('passes the trailers of a chunked HTTP/1.1 response on to HTTP/2 clients (h2c and TLS), framing fields dropped', async () => {
    const h1 = await http1Replica('H1');
    const lb = await start([h1.url]);
    const reply = await request(client(lb), { ':path': '/trailers' });
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe('part one, part two');
    expect(reply.trailers['x-checksum']).toBe('abc123');
    // Node joins a repeated field's values.
    expect(reply.trailers['x-note']).toBe('first, second');
    expect(reply.trailers['content-length']).toBeUndefined();
    // A chunked response without trailers still ends cleanly.
    const plain = await request(client(lb), { ':path': '/big/100000' });
    expect(plain.body.length).toBe(100000);
    expect(Object.keys(plain.trailers).filter((name) => !name.startsWith(':'))).toEqual([]);

    const certs = tempDir();
    cleanups.push(() => certs.remove());
    const cert = makeCertificate(certs.dir, 'lb');
    const tls = await start([h1.url], { h2c: false, tlsCert: cert.cert, tlsKey: cert.key });
    const session = connect(`https://localhost:${tls.port}`, { ca: cert.pem, servername: 'localhost' });
    session.on('error', () => undefined);
    cleanups.push(() => session.destroy());
    const secure = await request(session, { ':path': '/trailers' });
    expect(secure.trailers['x-checksum']).toBe('abc123');
  });

  it('resets the client stream when the replica breaks off mid-body, never ending it as if whole', async () => {
    const h1 = await http1Replica('H1');
    const lb = await start([h1.url]);
    await expect(request(client(lb), { ':path': '/cut' })).rejects.toThrow(/INTERNAL_ERROR|stream/i);
  });

  it('keeps flow control both ways: large bodies arrive whole through slow readers, on the fast pools and on h2c', async () => {
    const h1 = await http1Replica('H1');
    const lb = await start([h1.url]);
    const session = client(lb);
    const size = 6 * 1024 * 1024;
    const down = await request(session, { ':path': `/big/${size}` }, undefined, true);
    expect(down.status).toBe(200);
    expect(down.body.length).toBe(size);
    expect(sha(down.body)).toBe(sha(bigBody(size)));

    // A body without Content-Length goes to the HTTP/1.1 replica chunked, with backpressure both ways.
    const posted = bigBody(2 * 1024 * 1024 + 7);
    const echoedH1 = await request(session, { ':path': '/echo' }, posted, true);
    expect(echoedH1.status).toBe(200);
    expect(sha(echoedH1.body)).toBe(sha(posted));

    const echo = await h2cReplica('E', 'answer');
    const h2Lb = await start([echo.url]);
    const upload = bigBody(3 * 1024 * 1024);
    const echoed = await request(client(h2Lb), { ':path': '/echo' }, upload, true);
    expect(echoed.status).toBe(200);
    expect(sha(echoed.body)).toBe(sha(upload));
  });
});

describe('gRPC through the router', () => {
  it('honours grpc-timeout: DEADLINE_EXCEEDED when the replica is slower, and the replica is told what is left', async () => {
    const slow = await h2cReplica('S', 'slow');
    const lb = await start([slow.url]);
    const started = Date.now();
    const reply = await grpcCall(client(lb), 'Unary', '1', { 'grpc-timeout': '300m' });
    const took = Date.now() - started;
    expect(reply.status).toBe(200);
    expect(grpcStatus(reply)).toBe('4');
    expect(decodeURIComponent(String(reply.trailers['grpc-message']))).toMatch(/deadline/);
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(1400);
    const given = String(slow.seen[0]?.['grpc-timeout']);
    expect(given).toMatch(/^\d+m$/);
    expect(Number(given.slice(0, -1))).toBeLessThanOrEqual(300);
  });

  it('retries a call on the next replica only while no response header has arrived', async () => {
    const resets = await h2cReplica('A', 'reset');
    const ok = await h2cReplica('B', 'answer');
    const lb = await start([resets.url, ok.url]);
    const reply = await grpcCall(client(lb), 'Unary', idFor(lb, 'Server 1'));
    expect(grpcStatus(reply)).toBe('0');
    expect(reply.trailers['x-replica']).toBe('B');

    const late = await h2cReplica('C', 'headers-then-reset');
    const other = await h2cReplica('D', 'answer');
    const lb2 = await start([late.url, other.url]);
    const cut = await grpcCall(client(lb2), 'Unary', idFor(lb2, 'Server 1'));
    expect(cut.status).toBe(200);
    expect(grpcStatus(cut)).toBe('14');
    expect(other.seen).toHaveLength(0);
  });

  it("answers ringlb's own failures as gRPC statuses with a grpc-message", async () => {
    const g = await h2cReplica('G', 'answer');
    const lb = await start([g.url], { maxHeaderSize: 4096 });
    const tooLarge = await grpcCall(client(lb), 'Unary', '1', { 'x-big': 'a'.repeat(6000) });
    expect(tooLarge.status).toBe(200);
    expect(grpcStatus(tooLarge)).toBe('8');
    expect(decodeURIComponent(String(tooLarge.trailers['grpc-message']))).toMatch(/too large/);
    expect(g.seen).toHaveLength(0);
  });
});
