import { get } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PER_REQUEST_BUFFER_LIMIT_BYTES } from '../src/proxy/replay-buffer.js';
import { EchoReplica, PipelineWatcher, RawClient, sha256 } from './body-peers.js';
import { deliver, type Delivery } from './fuzz/deliveries.js';
import { balancer, waitFor } from './helpers.js';
import { delta, parseMetrics } from './prometheus-text.js';

type Started = Awaited<ReturnType<typeof balancer>>;

/** Counts the connections the fast path hands to node:http (none should be, for proxied requests). */
function handOvers(lb: Started): () => number {
  let count = 0;
  lb.http.on('connection', () => count++);
  return () => count;
}

function post(path: string, body: Buffer | string, extra = ''): string {
  const length = typeof body === 'string' ? Buffer.byteLength(body, 'latin1') : body.length;
  return `POST ${path} HTTP/1.1\r\nHost: t\r\n${extra}Content-Length: ${length}\r\n\r\n${body.toString('latin1')}`;
}

function chunked(path: string, pieces: string[], method = 'POST'): string {
  const chunks = pieces.map((piece) => `${piece.length.toString(16)}\r\n${piece}\r\n`).join('');
  return `${method} ${path} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}0\r\n\r\n`;
}

/** Scrapes /metrics on a connection of its own: the balancer's own endpoints hand theirs to node:http. */
async function metrics(lb: Started): Promise<Map<string, number>> {
  const text = await new Promise<string>((resolve, reject) => {
    get(`${lb.url}/metrics`, { agent: false }, (res) => {
      let out = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (out += chunk));
      res.on('end', () => resolve(out));
    }).on('error', reject);
  });
  return parseMetrics(text);
}

/** The number of requests answered with `code`, over all replicas. */
function answered(series: Map<string, number>, code: number): number {
  let total = 0;
  for (const [key, value] of series) {
    if (key.startsWith('ringlb_requests_total{') && key.includes(`code="${code}"`)) total += value;
  }
  return total;
}

describe('request bodies on the fast path', () => {
  const replica = new EchoReplica('a');
  let lb: Started;
  let handedOver: () => number;

  beforeAll(async () => {
    await replica.listen();
    lb = await balancer({ provider: 'static', backends: [replica.url], healthPath: '/health' });
    handedOver = handOvers(lb);
  });
  afterAll(async () => {
    await lb?.close();
    await replica.close();
  });

  it('streams fixed-length and chunked bodies of every method intact, on the fast path', async () => {
    for (const size of [1, 1024, PER_REQUEST_BUFFER_LIMIT_BYTES + 1, 3 * 1024 * 1024]) {
      const body = Buffer.alloc(size);
      for (let i = 0; i < size; i++) body[i] = (i * 31) & 0xff;
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
        const response = await fetch(`${lb.url}/echo/${size}`, { method, body });
        expect(response.status).toBe(200);
        expect(await response.json()).toEqual({ name: 'a', method, bytes: size, sha256: sha256(body) });
      }
    }
    const pieces = Array.from({ length: 20 }, (_, i) => new Uint8Array(5000).fill(i));
    const stream = new ReadableStream({
      start(controller) {
        for (const piece of pieces) controller.enqueue(piece);
        controller.close();
      },
    });
    const response = await fetch(`${lb.url}/echo/chunked`, {
      method: 'POST',
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(await response.json()).toMatchObject({
      bytes: 100_000,
      sha256: sha256(Buffer.concat(pieces)),
    });
    expect(replica.seen.at(-1)!.headers['transfer-encoding']).toBe('chunked');
    expect(handedOver()).toBe(0);
  });

  it('keeps GETs and POSTs on one keep-alive connection on the fast path, however the bytes are cut', async () => {
    const requests =
      'GET /mix/1 HTTP/1.1\r\nHost: t\r\n\r\n' +
      post('/mix/2', 'x'.repeat(1024)) +
      'GET /mix/3 HTTP/1.1\r\nHost: t\r\n\r\n' +
      chunked('/mix/4', ['hello', ' ', 'world']) +
      post('/mix/5', '') +
      'GET /mix/6 HTTP/1.1\r\nHost: t\r\n\r\n';
    const bytes = Buffer.from(requests, 'latin1');
    const deliveries: Delivery[] = [
      { kind: 'whole' },
      { kind: 'split', at: 40 },
      { kind: 'split', at: 100 },
      { kind: 'bytewise', upTo: bytes.length },
    ];
    for (const delivery of deliveries) {
      const client = new RawClient(lb.port);
      await deliver(client.socket, bytes, delivery);
      const text = await client.until(() => client.statuses().length === 6, 20_000);
      client.close();
      expect(client.statuses()).toEqual([200, 200, 200, 200, 200, 200]);
      const bodies = [...text.matchAll(/\{"name":"a","method":"(\w+)","bytes":(\d+)/g)].map(
        (match) => `${match[1]} ${match[2]}`,
      );
      expect(bodies).toEqual(['GET 0', 'POST 1024', 'GET 0', 'POST 11', 'POST 0', 'GET 0']);
    }
    expect(handedOver()).toBe(0);
  }, 30_000);

  it('answers Expect: 100-continue itself once a replica takes the request, and passes no Expect on', async () => {
    const client = new RawClient(lb.port);
    client.socket.write(
      'PUT /continue HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n',
    );
    await client.until((text) => text.includes('\r\n\r\n'));
    expect(client.text).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    client.socket.write('hello');
    await client.until(() => client.statuses().length === 2 && client.text.endsWith('}'));
    client.close();
    expect(client.statuses()).toEqual([100, 200]);
    expect(client.text).toContain(`"bytes":5,"sha256":"${sha256(Buffer.from('hello'))}"`);
    const seen = replica.seen.find((s) => s.url === '/continue')!;
    expect(seen.headers.expect).toBeUndefined();
  });

  it('cuts the replica off when the client leaves mid-upload, and counts the request', async () => {
    const before = await metrics(lb);
    const cutBefore = replica.cut;
    const headsBefore = replica.heads;
    const client = new RawClient(lb.port);
    client.socket.write(
      `POST /abandoned HTTP/1.1\r\nHost: t\r\nContent-Length: ${1024 * 1024}\r\n\r\n${'z'.repeat(100_000)}`,
    );
    await waitFor('the head to reach the replica', () => (replica.heads > headsBefore ? true : undefined));
    client.close();
    await waitFor('the replica to see its request cut', () => (replica.cut > cutBefore ? true : undefined));
    await waitFor('the request to be counted', async () =>
      answered(await metrics(lb), 499) - answered(before, 499) === 1 ? true : undefined,
    );
    expect(replica.seen.some((s) => s.url === '/abandoned')).toBe(false);
  });

  it('keeps concurrent uploads and pipelined bodies intact while the client connections reuse read buffers', async () => {
    // Every plain TCP client connection reads into one shared buffer, and an upload into a buffer of
    // its own (client-reads.ts): a byte kept past a read without a copy, or a read into a buffer a
    // write still uses, would show here as a wrong digest.
    const handedOverBefore = handedOver();
    const uploads = Array.from({ length: 6 }, (_, n) => {
      // Larger than the loopback socket buffers, so that writes upstream wait on the paused replica.
      const body = Buffer.alloc(12 * 1024 * 1024 + n * 7919);
      for (let i = 0; i < body.length; i++) body[i] = (i * (n + 3) + (i >> 9)) & 0xff;
      return body;
    });
    const uploading = uploads.map(async (body, n) => {
      const response = await fetch(`${lb.url}/sink?pause=${200 + 50 * n}`, { method: 'PUT', body });
      expect(await response.json()).toMatchObject({
        method: 'PUT',
        bytes: body.length,
        sha256: sha256(body),
      });
    });
    const small = Array.from({ length: 40 }, (_, n) => Buffer.alloc(100 + n * 37, 65 + (n % 26)));
    const pipelined = Array.from({ length: 3 }, async (_, c) => {
      const client = new RawClient(lb.port);
      const requests = small.map((body, n) => post(`/echo/${c}/${n}`, body)).join('');
      // Cut into pieces that do not line up with the requests, written as the uploads run.
      for (let at = 0; at < requests.length; at += 1500 + c * 311) {
        client.socket.write(requests.slice(at, at + 1500 + c * 311), 'latin1');
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      await client.until(() => client.statuses().length === small.length, 20_000);
      const digests = [...client.text.matchAll(/"sha256":"([0-9a-f]+)"/g)].map((m) => m[1]);
      client.close();
      expect(digests).toEqual(small.map((body) => sha256(body)));
    });
    await Promise.all([...uploading, ...pipelined]);
    expect(handedOver()).toBe(handedOverBefore);
  }, 60_000);

  it('holds a fast uploader back while the replica does not read (backpressure), then delivers it all', async () => {
    const size = 128 * 1024 * 1024;
    const client = new RawClient(lb.port);
    client.socket.write(`POST /sink?pause=1500 HTTP/1.1\r\nHost: t\r\nContent-Length: ${size}\r\n\r\n`);
    const piece = Buffer.alloc(256 * 1024, 7);
    let accepted = 0;
    let stalled = false;
    const readBefore = replica.bytesRead;
    const pump = () => {
      while (accepted < size) {
        accepted += piece.length;
        if (!client.socket.write(piece)) {
          client.socket.once('drain', pump);
          return;
        }
      }
    };
    pump();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // With the replica paused, only socket buffers (kernel and Node's, a few MiB each) may hold bytes.
    const inBetween = accepted - (replica.bytesRead - readBefore);
    stalled = accepted < size;
    expect(stalled).toBe(true);
    expect(inBetween).toBeLessThan(48 * 1024 * 1024);
    await client.until(() => client.text.endsWith('}'), 60_000);
    client.close();
    expect(client.statuses()).toEqual([200]);
    expect(client.text).toContain(`"bytes":${size}`);
  }, 90_000);
});

describe('--max-body-size while streaming', () => {
  const replica = new EchoReplica('a');
  let lb: Started;
  beforeAll(async () => {
    await replica.listen();
    lb = await balancer({
      provider: 'static',
      backends: [replica.url],
      healthPath: '/health',
      maxBodySize: 100_000,
    });
  });
  afterAll(async () => {
    await lb?.close();
    await replica.close();
  });

  it('refuses a Content-Length over the limit with 413 before any byte goes upstream, and without a 100', async () => {
    const headsBefore = replica.heads;
    for (const expect100 of ['', 'Expect: 100-continue\r\n']) {
      const client = new RawClient(lb.port);
      client.socket.write(
        `POST /big HTTP/1.1\r\nHost: t\r\n${expect100}Content-Length: 100001\r\n\r\n${'a'.repeat(1000)}`,
      );
      const text = await client.until((_, closed) => closed);
      expect(text).toMatch(/^HTTP\/1\.1 413 /);
      expect(text).toMatch(/connection: close/i);
      expect(text).toContain('the body is larger than 100000 bytes');
      expect(text).not.toContain('100 Continue');
    }
    const ok = await fetch(`${lb.url}/fits`, { method: 'POST', body: Buffer.alloc(100_000) });
    expect(await ok.json()).toMatchObject({ bytes: 100_000 });
    expect(replica.heads - headsBefore).toBe(1);
  });

  it('answers a chunked body that crosses the limit with 413, cuts the replica off and closes', async () => {
    const cutBefore = replica.cut;
    const client = new RawClient(lb.port);
    const piece = 'b'.repeat(30_000);
    client.socket.write(
      'POST /chunked-big HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n' +
        `${piece.length.toString(16)}\r\n${piece}\r\n`.repeat(3),
    );
    await waitFor('the first chunks to reach the replica', () => (replica.bytesRead > 0 ? true : undefined));
    client.socket.write(`${piece.length.toString(16)}\r\n${piece}\r\n0\r\n\r\n`);
    const text = await client.until((_, closed) => closed);
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(text).toContain('the body is larger than 100000 bytes');
    await waitFor('the replica to see its request cut', () => (replica.cut > cutBefore ? true : undefined));
    expect(replica.seen.some((s) => s.url === '/chunked-big')).toBe(false);
  });

  it('refuses broken chunked framing in a body with 400 and closes', async () => {
    const client = new RawClient(lb.port);
    client.socket.write(chunked('/bad-chunks', ['abc']).replace('3\r\nabc\r\n', '3\r\nabcX\r\n'));
    const text = await client.until((_, closed) => closed);
    expect(text).toMatch(/^HTTP\/1\.1 400 /);
    expect(text).toContain('chunk data must end with CRLF');
  });
});

describe('retries of requests with a body', () => {
  const flaky = new EchoReplica('flaky');
  const good = new EchoReplica('good', false);
  let lb: Started;
  let id = 0;
  beforeAll(async () => {
    await Promise.all([flaky.listen(), good.listen()]);
    lb = await balancer({ provider: 'static', backends: [flaky.url, good.url], healthPath: '/health' });
    const ring = lb.cluster.table.ring;
    id = [...Array(1000).keys()].find((k) => ring.members[ring.pick(k)]!.name === 'Server 1')!;
  });
  afterAll(async () => {
    await lb?.close();
    await Promise.all([flaky.close(), good.close()]);
  });

  async function send(method: string, path: string, size: number) {
    const body = Buffer.alloc(size);
    for (let i = 0; i < size; i++) body[i] = (i * 7) & 0xff;
    const response = await fetch(`${lb.url}${path}`, {
      method,
      body,
      headers: { 'x-request-id': String(id) },
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown>, body };
  }
  const arrived = (replica: EchoReplica, path: string) => replica.seen.filter((s) => s.url === path).length;

  it('sends a PUT whose body fits the replay buffer again, whole, to the next replica after a reset', async () => {
    const before = await metrics(lb);
    const { status, json, body } = await send('PUT', '/reset/fits', PER_REQUEST_BUFFER_LIMIT_BYTES);
    expect(status).toBe(200);
    expect(json).toEqual({ name: 'good', method: 'PUT', bytes: body.length, sha256: sha256(body) });
    expect(arrived(flaky, '/reset/fits')).toBe(1);
    expect(delta(before, await metrics(lb), 'ringlb_retries_total{protocol="http1"}')).toBe(1);
  });

  it('does not send a PUT again once its body outgrew the replay buffer', async () => {
    const { status, json } = await send('PUT', '/reset/too-big', PER_REQUEST_BUFFER_LIMIT_BYTES + 1);
    expect(status).toBe(502);
    expect(json.message).toMatch(/cannot be sent again/);
    expect(arrived(flaky, '/reset/too-big')).toBe(1);
    expect(arrived(good, '/reset/too-big')).toBe(0);
  });

  it('never sends a POST twice, whatever its size', async () => {
    const { status, json } = await send('POST', '/reset/post', 10);
    expect(status).toBe(502);
    expect(json.message).toMatch(/POST request is not retried/);
    expect(arrived(flaky, '/reset/post')).toBe(1);
    expect(arrived(good, '/reset/post')).toBe(0);
  });
});

describe('pipelining to replicas', () => {
  const watcher = new PipelineWatcher();
  let lb: Started;
  beforeAll(async () => {
    const url = await watcher.listen();
    lb = await balancer({ provider: 'static', backends: [url], healthPath: '/health' });
  });
  afterAll(async () => {
    await lb?.close();
    await watcher.close();
  });

  it('never pipelines a request with a body, nor anything behind one; bodyless GETs may be', async () => {
    const clients = Array.from({ length: 100 }, () => new RawClient(lb.port));
    await Promise.all(
      clients.map(async (client, i) => {
        for (let round = 0; round < 4; round++) {
          const bytes =
            (i + round) % 3 === 0
              ? post(`/p/${i}/${round}`, 'x'.repeat(100))
              : (i + round) % 3 === 1
                ? chunked(`/p/${i}/${round}`, ['abc'], 'PUT')
                : `GET /p/${i}/${round} HTTP/1.1\r\nHost: t\r\n\r\n`;
          const before = client.statuses().length;
          client.socket.write(bytes);
          await client.until(() => client.statuses().length > before && client.text.endsWith('ok'));
        }
        client.close();
      }),
    );
    const withBody = watcher.arrivals.filter((a) => a.method !== 'GET');
    expect(withBody.length).toBe(100 * 4 - Math.floor((100 * 4) / 3));
    expect(withBody.filter((a) => a.outstanding > 0)).toEqual([]);
    expect(watcher.arrivals.filter((a) => a.behindBody)).toEqual([]);
    // The watcher does see pipelining when it happens: GETs ride behind each other.
    expect(watcher.arrivals.some((a) => a.method === 'GET' && a.outstanding > 0)).toBe(true);
  }, 30_000);
});
