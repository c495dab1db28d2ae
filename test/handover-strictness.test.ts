import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordingBackend } from './fuzz/recording-backend.js';
import { balancer } from './helpers.js';

/**
 * Requests found by the fuzzer (test/fuzz-front.test.ts) when a first request with a body handed its
 * connection to node:http, whose parser let through what the strict front refuses. Bodies are now
 * proxied on the fast path and the connection stays with the strict front; these must stay refused.
 */
const backend = new RecordingBackend();
let lb: Awaited<ReturnType<typeof balancer>>;

beforeAll(async () => {
  const url = await backend.listen();
  lb = await balancer({ provider: 'static', backends: [url], healthPath: '/health' });
});

afterAll(async () => {
  await lb?.close();
  await backend.close();
});

function exchange(bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(lb.port, '127.0.0.1');
    let out = '';
    socket.on('data', (chunk) => (out += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(out));
    socket.write(bytes);
    setTimeout(() => socket.destroy(), 1_000);
  });
}

describe('requests pipelined after a request with a body', () => {
  it('refuses a pipelined request line without an HTTP version (HTTP/0.9) and never forwards it', async () => {
    const out = await exchange(
      'POST /first HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhiGET /second\r\nHost: t\r\n\r\n',
    );
    expect(backend.byCase.get(-1)).toEqual([{ method: 'POST', target: '/first' }]);
    expect(out).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nokHTTP\/1\.1 400 Bad Request\r\n/);
    expect(out).toMatch(/"status":"failure"}$/);
    expect(backend.violations).toEqual([]);
  });
});

describe('found by the fuzzer (FUZZ_RUNS=5000 FUZZ_SEED=4242, case 3443)', () => {
  // node:http's llhttp skips a bare CR before a request line; the strict front refuses it.
  it('refuses a bare CR between a body and the next pipelined request', async () => {
    const out = await exchange(
      'POST /third HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi\rGET /fourth HTTP/1.1\r\nHost: t\r\n\r\n',
    );
    expect(backend.byCase.get(-1)?.map((r) => r.target)).not.toContain('/fourth');
    expect(out).toMatch(/HTTP\/1\.1 400 Bad Request\r\n/);
  });
});
