import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliver, describeDelivery, everyDelivery, type Delivery } from './fuzz/deliveries.js';
import { RecordingBackend } from './fuzz/recording-backend.js';
import { TEMPLATES } from './fuzz/request-mutations.js';
import { readStrictly } from './fuzz/request-stream.js';
import { balancer } from './helpers.js';

/**
 * TCP has no message boundaries: the front must answer a connection's bytes the same whether they
 * come in one read, in two split at any byte, or one byte at a time. Every case here is sent each
 * of those ways and must get the answers it gets when sent whole.
 */
const backend = new RecordingBackend();
let lb: Awaited<ReturnType<typeof balancer>>;

beforeAll(async () => {
  const url = await backend.listen();
  lb = await balancer({
    provider: 'static',
    backends: [url],
    healthPath: '/health',
    headersTimeoutMs: 1_000,
  });
});

afterAll(async () => {
  await lb?.close();
  await backend.close();
});

/** Sends bytes one way; resolves with the status lines answered, once `wanted` came or the connection closed. */
function statusLines(bytes: Buffer, delivery: Delivery, wanted: number): Promise<string[]> {
  return new Promise((resolve) => {
    const socket = connect(lb.port, '127.0.0.1');
    let out = '';
    const lines = () => out.match(/HTTP\/1\.[01] \d{3} [^\r]*/g) ?? [];
    const finish = () => {
      clearTimeout(cap);
      socket.destroy();
      resolve(lines());
    };
    const cap = setTimeout(finish, 5_000);
    socket.on('error', () => undefined);
    socket.on('close', finish);
    socket.on('data', (chunk) => {
      out += chunk.toString('latin1');
      if (wanted > 0 && lines().length >= wanted && /\r\n\r\n[^]*$/.test(out)) finish();
    });
    socket.on('connect', () => void deliver(socket, bytes, delivery));
  });
}

/** Runs `task` over `items`, `width` at a time. */
async function inBatches<T>(
  items: readonly T[],
  width: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

const ACCEPTED: Record<string, string> = {
  'a GET with 4 header lines':
    'GET /split/four HTTP/1.1\r\nHost: lb.test\r\nUser-Agent: split\r\nAccept: */*\r\nx-request-id: 7\r\n\r\n',
  ...Object.fromEntries(TEMPLATES.map((template, i) => [`fuzz template ${i}`, template])),
};

const REFUSED: Record<string, string> = {
  'bare LF line breaks': 'GET /split/lf HTTP/1.1\nHost: lb.test\n\n',
  'a bare CR inside a header line': 'GET /split/cr HTTP/1.1\r\nHost: lb.test\r\nX-A: a\rb\r\n\r\n',
  'Content-Length with Transfer-Encoding':
    'POST /split/te HTTP/1.1\r\nHost: lb.test\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  'obsolete line folding': 'GET /split/fold HTTP/1.1\r\nHost: lb.test\r\nX-A: a\r\n b\r\n\r\n',
};

describe('a request cut anywhere by TCP', () => {
  for (const [name, text] of Object.entries({ ...ACCEPTED, ...REFUSED })) {
    const refused = name in REFUSED;
    it(`${name}: the same answers whole, split at every byte and one byte at a time`, async () => {
      const bytes = Buffer.from(text, 'latin1');
      const wanted = refused ? 0 : readStrictly(bytes).complete;
      const expected = await statusLines(bytes, { kind: 'whole' }, wanted);
      if (refused) expect(expected).toEqual([expect.stringMatching(/^HTTP\/1\.1 400 /)]);
      else expect(expected.every((line) => line.startsWith('HTTP/1.1 200 '))).toBe(true);
      const different: string[] = [];
      await inBatches(everyDelivery(bytes.length), 12, async (delivery) => {
        const got = await statusLines(bytes, delivery, wanted);
        if (JSON.stringify(got) !== JSON.stringify(expected))
          different.push(`${describeDelivery(delivery)}: ${JSON.stringify(got)}`);
      });
      expect(different).toEqual([]);
      expect(backend.violations).toEqual([]);
    }, 60_000);
  }
});

describe('slowloris', () => {
  it('a client that drips whole header lines gets the documented 408 once the headers timeout passes', async () => {
    const socket = connect(lb.port, '127.0.0.1');
    socket.on('error', () => undefined);
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    const started = Date.now();
    socket.write('GET /slow HTTP/1.1\r\n');
    let line = 0;
    const drip = setInterval(() => socket.write(`X-Line-${line++}: still coming\r\n`), 100);
    const closedAfter = await new Promise<number>((resolve) =>
      socket.on('close', () => resolve(Date.now() - started)),
    );
    clearInterval(drip);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(answer).toMatch(/"status":"failure"}$/);
    expect(closedAfter).toBeGreaterThanOrEqual(1_000);
    expect(closedAfter).toBeLessThan(2_500);
  });
});
