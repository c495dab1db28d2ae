import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { NODE_FLAGS } from '../src/cli/node-flags.js';
import { startCliWith } from './cli-process.js';

// Issue 14, item 4: the balancer's memory stays flat while a body far larger than any buffer streams
// through it, one GiB up and one GiB down, so that large bodies cannot grow a worker without bound.

const GIB = 2 ** 30;
/** Most the worker's RSS may rise above what it held, warmed up, before the transfers. */
const RISE_BOUND_BYTES = 24 * 2 ** 20;
/** The whole test must end well inside CI's patience, even on a busy two-core machine. */
const TRANSFER_DEADLINE_MS = 40_000;

/** Byte `i` of every download is `i % PATTERN_PERIOD`: a prime, so no buffer size hides a mix-up. */
const PATTERN_PERIOD = 251;

/**
 * The replica, a process of its own: reads and counts every request body (answering its byte count),
 * and sends `?bytes=N` bytes of the pattern for `/download`, with backpressure.
 */
const REPLICA = `
import { createServer } from 'node:http';
const block = Buffer.alloc(${PATTERN_PERIOD} * 4096);
for (let i = 0; i < block.length; i++) block[i] = i % ${PATTERN_PERIOD};
const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://replica');
  if (url.pathname === '/download') {
    const total = Number(url.searchParams.get('bytes'));
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
    let sent = 0;
    const more = () => {
      while (sent < total) {
        const n = Math.min(block.length, total - sent);
        sent += n;
        if (!res.write(n === block.length ? block : block.subarray(0, n))) return void res.once('drain', more);
      }
      res.end();
    };
    return more();
  }
  let bytes = 0;
  req.on('data', (chunk) => (bytes += chunk.length));
  req.on('end', () => res.end(JSON.stringify({ bytes })));
});
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
`;

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

async function startReplica(): Promise<string> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', REPLICA], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    child.once('exit', (code) => reject(new Error(`the replica exited with ${code}`)));
  });
  return `http://127.0.0.1:${port}`;
}

function rssBytes(pid: number): number {
  const line = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!line) throw new Error(`no VmRSS for process ${pid}`);
  return Number(line[1]) * 1024;
}

/** Samples `pid`'s RSS every 50 ms until stopped; the largest seen. */
function sampleRss(pid: number): { stop(): number } {
  let largest = rssBytes(pid);
  const timer = setInterval(() => (largest = Math.max(largest, rssBytes(pid))), 50);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(largest, rssBytes(pid));
    },
  };
}

interface Exchanged {
  status: number;
  /** Response body bytes. */
  received: number;
  text: string;
  /** The first offset whose byte is not the download pattern's, or -1. */
  wrongAt: number;
}

interface ExchangeOptions {
  /** Check the response against the download pattern. */
  readonly check?: boolean;
  /** Stop reading the response for this many ms after every 512 KiB (a slow client). */
  readonly stallMs?: number;
}

/**
 * One request through the balancer: `upload` bytes of body sent in 64 KiB writes with backpressure,
 * the response counted (its text kept when short). Fails past the deadline.
 */
function exchange(
  url: string,
  method: string,
  upload: number,
  options: ExchangeOptions = {},
): Promise<Exchanged> {
  const block = Buffer.alloc(64 * 1024, 'u');
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = upload > 0 ? { 'content-length': String(upload) } : {};
    const req = request(url, { method, headers, agent: false }, (res) => {
      let received = 0;
      let text = '';
      let wrongAt = -1;
      let sinceStall = 0;
      res.on('data', (chunk: Buffer) => {
        if (options.check && wrongAt < 0) {
          for (let i = 0; i < chunk.length; i++) {
            if (chunk[i] !== (received + i) % PATTERN_PERIOD) {
              wrongAt = received + i;
              break;
            }
          }
        }
        received += chunk.length;
        if (text.length < 1024) text += chunk.toString('latin1');
        sinceStall += chunk.length;
        if (options.stallMs !== undefined && sinceStall >= 512 * 1024) {
          sinceStall = 0;
          res.pause();
          setTimeout(() => res.resume(), options.stallMs);
        }
      });
      res.on('end', () => resolve({ status: res.statusCode!, received, text, wrongAt }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(TRANSFER_DEADLINE_MS, () =>
      req.destroy(new Error(`${method} ${url} did not finish in ${TRANSFER_DEADLINE_MS} ms`)),
    );
    let sent = 0;
    const more = () => {
      while (sent < upload) {
        const n = Math.min(block.length, upload - sent);
        sent += n;
        if (!req.write(n === block.length ? block : block.subarray(0, n)))
          return void req.once('drain', more);
      }
      req.end();
    };
    more();
  });
}

describe('memory while bodies stream (issue 14)', () => {
  it('passes a download on intact to a client that keeps stalling (the replica connection reuses its read buffer)', async () => {
    const replica = await startReplica();
    const ringlb = await startCliWith(NODE_FLAGS, '--provider', 'static', '--backends', replica);
    const bytes = 16 * 2 ** 20 + 12_345;
    const slow = await exchange(`${ringlb.url}/download?bytes=${bytes}`, 'GET', 0, {
      check: true,
      stallMs: 5,
    });
    expect(slow).toMatchObject({ status: 200, received: bytes, wrongAt: -1 });
    // And a fast one on the same replica connection after it.
    const fast = await exchange(`${ringlb.url}/download?bytes=${bytes}`, 'GET', 0, { check: true });
    expect(fast).toMatchObject({ status: 200, received: bytes, wrongAt: -1 });
  });

  it(
    'keeps the worker RSS flat through a 1 GiB upload and a 1 GiB download',
    async () => {
      const replica = await startReplica();
      // One process (`--workers 1`), with the node flags the `ringlb` bin runs with.
      const ringlb = await startCliWith(NODE_FLAGS, '--provider', 'static', '--backends', replica);
      const worker = ringlb.child.pid!;
      // Warm up both paths with bodies a little larger than every buffer, so that what is measured
      // is growth with body size, not the first use of the code.
      for (let i = 0; i < 8; i++) {
        expect((await exchange(`${ringlb.url}/upload`, 'POST', 4 * 2 ** 20)).status).toBe(200);
        expect((await exchange(`${ringlb.url}/download?bytes=${4 * 2 ** 20}`, 'GET', 0)).received).toBe(
          4 * 2 ** 20,
        );
      }
      const before = rssBytes(worker);

      const up = sampleRss(worker);
      const uploaded = await exchange(`${ringlb.url}/upload`, 'POST', GIB);
      const upPeak = up.stop();
      expect(uploaded.status).toBe(200);
      expect(JSON.parse(uploaded.text)).toEqual({ bytes: GIB });

      const down = sampleRss(worker);
      const downloaded = await exchange(`${ringlb.url}/download?bytes=${GIB}`, 'GET', 0);
      const downPeak = down.stop();
      expect(downloaded.status).toBe(200);
      expect(downloaded.received).toBe(GIB);

      const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
      const report = `worker RSS ${mb(before)} before, ${mb(upPeak)} at most uploading, ${mb(downPeak)} at most downloading`;
      console.log(report);
      expect(upPeak - before, report).toBeLessThanOrEqual(RISE_BOUND_BYTES);
      expect(downPeak - before, report).toBeLessThanOrEqual(RISE_BOUND_BYTES);
    },
    2 * TRANSFER_DEADLINE_MS + 20_000,
  );
});
