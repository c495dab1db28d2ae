// Found by the soak run (issue 18: "h2 POST 1K-1M: HTTP 504" and "h1 POST: 504 replica 'Server 1'
// did not answer in time", with no fault at the time): on an h2c replica the per-try timeout ran
// from the moment the stream was opened, so a large upload that took longer than --upstream-timeout
// to send (a busy machine, a replica that reads at its own pace) got 504 although the replica was
// reading all along and answered at once after the last byte. The per-try timeout is how long a
// replica may stay silent, as on the HTTP/1.1 fast path: time spent taking the body does not count.
// Here the replica reads a 1 MiB body over 2 s or more (4 × the per-try timeout) and answers as
// soon as it has it: HTTP/1.1 and HTTP/2 clients must get its 200.
import { createServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { Agent, request } from 'undici';
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
const BODY = Buffer.alloc(1024 * 1024, 7);

/** An h2c replica that reads request bodies slowly (a pause after every chunk) and then answers. */
async function slowReader(): Promise<string> {
  const server = createServer((req: Http2ServerRequest, res: Http2ServerResponse) => {
    if (req.url === '/heartbeat') {
      req.resume();
      res.end();
      return;
    }
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      req.pause();
      // At most 16 KiB every ~30 ms: 1 MiB in 2 s or more, the last window's worth in a fraction of
      // the per-try timeout.
      setTimeout(() => req.resume(), 30);
    });
    req.on('end', () => res.end(`read ${bytes}`));
  });
  const listening = await listenH2c(server);
  cleanups.push(listening.close);
  return listening.origin;
}

async function setup(): Promise<{ port: number; ca: string }> {
  const { dir, remove } = tempDir();
  cleanups.push(remove);
  const cert = makeCertificate(dir, 'slow-upload');
  const lb = await startCli(
    ...['--provider', 'static', '--backends', await slowReader(), '--replicas', '1'],
    ...['--upstream-timeout', String(PER_TRY_MS), '--outlier-failures', '1000'],
    ...['--tls-cert', cert.cert, '--tls-key', cert.key],
  );
  return { port: lb.port, ca: cert.pem };
}

describe('regression: an upload to an h2c replica that takes longer than the per-try timeout', () => {
  it('is answered by the replica, for an HTTP/1.1 client', async () => {
    const { port, ca } = await setup();
    const agent = new Agent({ connect: { ca, servername: 'localhost' } });
    cleanups.push(() => agent.close());
    const started = performance.now();
    const response = await request(`https://localhost:${port}/echo`, {
      method: 'POST',
      body: BODY,
      dispatcher: agent,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.body.text();
    expect({ status: response.statusCode, text }).toEqual({ status: 200, text: `read ${BODY.length}` });
    expect(performance.now() - started, 'the upload was not slow: the test proves nothing').toBeGreaterThan(
      2 * PER_TRY_MS,
    );
  }, 20_000);

  it('is answered by the replica, for an HTTP/2 client', async () => {
    const { port, ca } = await setup();
    const started = performance.now();
    const reply = await h2Call(port, ca, { ':path': '/echo', ':method': 'POST' }, BODY, 10_000);
    expect(reply).toEqual({ status: 200, body: `read ${BODY.length}` });
    expect(performance.now() - started, 'the upload was not slow: the test proves nothing').toBeGreaterThan(
      2 * PER_TRY_MS,
    );
  }, 20_000);
});
