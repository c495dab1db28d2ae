// Found while reviewing the per-try timeout on h2c replicas (after h2c-slow-upload-not-timed-out):
// the timer started only once the request body was whole at the replica, so a client that sent
// part of a body and then went quiet held its stream, and the replica's, for as long as it kept
// the connection, while the same request over HTTP/1.1 to an HTTP/1.1 replica got a 504 after the
// per-try timeout (the upstream socket's idle timer). A try now fails after that long without
// progress, body or answer, on h2c replicas too: 504 for the client, and the replica's stream is
// cancelled. Writing this test found a second bug: Node's close(CANCEL) on a stream whose body is
// under way sends END_STREAM before the RST_STREAM, so the replica took the cut body for a whole
// request (and answered it). The body's end is now an empty trailer section, and a cancel only a reset.
import {
  connect,
  constants,
  createServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { makeCertificate, tempDir } from '../certificates.js';
import { startCli } from '../cli-process.js';
import { h2Call } from './h2-call.js';
import { listenH2c } from './h2c-listen.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const PER_TRY_MS = 500;

interface Replica {
  readonly origin: string;
  /** Requests reset before their end. */
  cut(): number;
  /** Uploads taken for whole. */
  whole(): number;
  /** Uploads whose first bytes arrived. */
  reading(): number;
}

/** An h2c replica that reads whole bodies and answers. */
async function reader(): Promise<Replica> {
  let cut = 0;
  let whole = 0;
  let reading = 0;
  const server = createServer((req: Http2ServerRequest, res: Http2ServerResponse) => {
    if (req.method === 'POST') req.once('data', () => reading++);
    req.resume();
    req.on('aborted', () => cut++);
    req.on('end', () => {
      if (req.aborted) return;
      if (req.method === 'POST') whole++;
      res.end('whole');
    });
  });
  const listening = await listenH2c(server);
  cleanups.push(listening.close);
  return {
    origin: listening.origin,
    cut: () => cut,
    whole: () => whole,
    reading: () => reading,
  };
}

async function setup(): Promise<Omit<Replica, 'origin'> & { port: number; ca: string }> {
  const { dir, remove } = tempDir();
  cleanups.push(remove);
  const cert = makeCertificate(dir, 'stalled-upload');
  const replica = await reader();
  const lb = await startCli(
    ...['--provider', 'static', '--backends', replica.origin, '--replicas', '1'],
    ...['--upstream-timeout', String(PER_TRY_MS), '--outlier-failures', '1000'],
    ...['--tls-cert', cert.cert, '--tls-key', cert.key],
  );
  return { port: lb.port, ca: cert.pem, cut: replica.cut, whole: replica.whole, reading: replica.reading };
}

describe('regression: an upload to an h2c replica that stalls', () => {
  it('gets a 504 after the per-try timeout, for an HTTP/2 client', async () => {
    const { port, ca, cut, whole } = await setup();
    const started = performance.now();
    const reply = await h2Call(
      port,
      ca,
      { ':path': '/upload', ':method': 'POST' },
      'a'.repeat(1000),
      10_000,
      true,
    );
    expect(reply.status).toBe(504);
    expect(JSON.parse(reply.body).message).toMatch(/did not answer in time/);
    expect(performance.now() - started).toBeGreaterThanOrEqual(PER_TRY_MS - 50);
    // Reset, not ended: the replica must never take the first 1000 bytes for the whole body.
    await expect.poll(cut, { timeout: 5_000 }).toBeGreaterThan(0);
    expect(whole()).toBe(0);
  }, 20_000);

  it('gets a 504 after the per-try timeout, for an HTTP/1.1 client', async () => {
    const { port, ca, cut, whole } = await setup();
    const socket = tlsConnect({
      port,
      host: '127.0.0.1',
      ca,
      servername: 'localhost',
      ALPNProtocols: ['http/1.1'],
    });
    cleanups.push(() => void socket.destroy());
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.write(`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n${'a'.repeat(1000)}`);
    await expect.poll(() => text, { timeout: 10_000 }).toMatch(/^HTTP\/1\.1 504 /);
    expect(text).toMatch(/did not answer in time/);
    // Reset, not ended: the replica must never take the first 1000 bytes for the whole body.
    await expect.poll(cut, { timeout: 5_000 }).toBeGreaterThan(0);
    expect(whole()).toBe(0);
  }, 20_000);

  it('that the client resets reaches the replica as a reset, never as a whole request', async () => {
    const { port, ca, cut, whole, reading } = await setup();
    const session = connect(`https://localhost:${port}`, { ca, servername: 'localhost' });
    cleanups.push(() => void session.destroy());
    session.on('error', () => undefined);
    // Waiting for trailers, the client's close() is a bare RST_STREAM (else Node sends END_STREAM
    // first, and the request was whole when it was reset).
    const stream = session.request({ ':path': '/upload', ':method': 'POST' }, { waitForTrailers: true });
    stream.on('error', () => undefined);
    stream.write('a'.repeat(1000));
    // Once the first bytes reached the replica, the client gives up on the request.
    await expect.poll(reading, { timeout: 5_000 }).toBe(1);
    stream.close(constants.NGHTTP2_CANCEL);
    await expect.poll(cut, { timeout: 5_000 }).toBeGreaterThan(0);
    expect(whole()).toBe(0);
  }, 20_000);
});
