import { connect, constants, createServer, type ClientHttp2Session, type Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { h2WebSocket } from '../src/edge/websocket-h2.js';
import { buildRoutingTable } from '../src/membership/routing-table.js';
import { OutlierDetector } from '../src/health/outlier-detector.js';
import { noTelemetry } from '../src/ops/telemetry.js';
import { WebSocketTunnels } from '../src/proxy/fast/websocket-tunnel.js';
import { Router } from '../src/proxy/router.js';
import { ringFactory, RING_DEFAULTS } from '../src/ring/registry.js';
import { balancer } from './helpers.js';
import {
  closeCode,
  echoReplicas,
  encodeFrame,
  FrameReader,
  openWebSocket,
  type Frame,
} from './websocket-peer.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * An HTTP/2 server with SETTINGS_ENABLE_CONNECT_PROTOCOL whose extended CONNECT streams go to the
 * hook, as the HTTP/2 frontend hands them over, in front of real echo replicas.
 */
async function h2Front(names: string[], behaviours = {}) {
  const backends = await echoReplicas(names, cleanups, behaviours);
  const routes = backends.map((b, i) => ({ name: names[i]!, number: i + 1, origin: b.url }));
  let table = buildRoutingTable(ringFactory(RING_DEFAULTS).buildRing, routes);
  const router = new Router({
    table: () => table,
    keyOf: (view) => Number(view.header('x-request-id') ?? 0),
    retries: 2,
    seedNotFound: false,
    telemetry: { ...noTelemetry, requestDone: (_replica, status) => void statuses.push(status) },
    outliers: new OutlierDetector(5, () => undefined),
  });
  const statuses: number[] = [];
  const tunnels = new WebSocketTunnels({
    router,
    idleTimeoutMs: 0,
    drainTimeoutMs: 0,
    responseTimeoutMs: 2_000,
  });
  const hook = h2WebSocket(tunnels, { trustForwarded: false });
  const server: Http2Server = createServer({ settings: { enableConnectProtocol: true } });
  server.on('stream', (stream, headers) => {
    if (headers[':method'] === 'CONNECT' && headers[':protocol'] === 'websocket') hook(stream, headers);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    tunnels.close();
    return new Promise((resolve) => server.close(resolve));
  });
  const setTable = (keep: string[]) => {
    table = buildRoutingTable(
      ringFactory(RING_DEFAULTS).buildRing,
      routes.filter((r) => keep.includes(r.name)),
    );
    tunnels.sync(table);
  };
  return { port: (server.address() as AddressInfo).port, tunnels, backends, statuses, setTable };
}

/** A WebSocket over HTTP/2 with Node's own client (RFC 8441 extended CONNECT). */
async function openH2WebSocket(port: number, key: string) {
  const session: ClientHttp2Session = connect(`http://127.0.0.1:${port}`);
  cleanups.push(() => void session.destroy());
  await new Promise<void>((resolve) => session.once('remoteSettings', () => resolve()));
  expect(session.remoteSettings.enableConnectProtocol).toBe(true);
  const stream = session.request(
    {
      ':method': 'CONNECT',
      ':protocol': 'websocket',
      ':scheme': 'http',
      ':path': '/chat',
      ':authority': `127.0.0.1:${port}`,
      'sec-websocket-version': '13',
      'x-request-id': key,
    },
    { endStream: false },
  );
  const headers = await new Promise<Record<string, unknown>>((resolve) => stream.once('response', resolve));
  const reader = new FrameReader();
  const frames: Frame[] = [];
  const waiters: ((frame: Frame) => void)[] = [];
  const body: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => {
    body.push(chunk);
    for (const frame of reader.push(chunk)) {
      const waiter = waiters.shift();
      if (waiter) waiter(frame);
      else frames.push(frame);
    }
  });
  // The replica's side is over (the client's own side may stay open).
  const ended = new Promise<void>((resolve) => stream.once('end', () => resolve()));
  return {
    status: headers[':status'] as number,
    headers,
    stream,
    body: () => Buffer.concat(body).toString(),
    ended,
    send: (text: string) => stream.write(encodeFrame(0x1, Buffer.from(text), true)),
    next: () =>
      new Promise<Frame>((resolve, reject) => {
        const ready = frames.shift();
        if (ready) return resolve(ready);
        const timer = setTimeout(() => reject(new Error('no frame in time')), 5_000);
        waiters.push((frame) => {
          clearTimeout(timer);
          resolve(frame);
        });
      }),
  };
}

describe('WebSockets over HTTP/2 (RFC 8441 extended CONNECT)', () => {
  it('opens with :status 200 and echoes both ways on the replica the key picks', async () => {
    const front = await h2Front(['A', 'B', 'C']);
    const names = new Set<string>();
    for (const key of ['1', '22', '333', '4444', '55555', '666666']) {
      const ws = await openH2WebSocket(front.port, key);
      expect(ws.status).toBe(200);
      // RFC 8441 §5: no Sec-WebSocket-Accept (nor Upgrade) on HTTP/2.
      expect(ws.headers['sec-websocket-accept']).toBeUndefined();
      ws.send(`hello ${key}`);
      const [name, text] = (await ws.next()).payload.toString().split(':');
      expect(text).toBe(`hello ${key}`);
      names.add(name!);
      ws.stream.close(constants.NGHTTP2_CANCEL);
    }
    expect(names.size).toBeGreaterThan(1);
    // The replica got an HTTP/1.1 upgrade with a key of the balancer's own.
    const seen = front.backends.flatMap((b) => b.upgrades)[0]!;
    expect(seen.upgrade).toBe('websocket');
    expect(seen['sec-websocket-key']).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(seen.host).toBe(`127.0.0.1:${front.port}`);
    await expect.poll(() => front.tunnels.counts().size).toBe(0);
  });

  it('counts the WebSocket and its bytes like any other', async () => {
    const front = await h2Front(['A']);
    const ws = await openH2WebSocket(front.port, '7');
    ws.send('abc');
    const reply = await ws.next();
    expect(front.tunnels.counts().get('A')).toBe(1);
    const counts = front.tunnels.stats.of('A');
    expect(counts.toReplica).toBe(encodeFrame(0x1, Buffer.from('abc'), true).length);
    expect(counts.toClient).toBe(encodeFrame(0x1, reply.payload, false).length);
  });

  it('passes on an answer other than 101 with its body', async () => {
    const front = await h2Front(['A'], { A: 'refuse' });
    const ws = await openH2WebSocket(front.port, '7');
    expect(ws.status).toBe(403);
    await ws.ended;
    expect(ws.body()).toBe('no: A');
  });

  it('sends 1012 on the stream when its replica leaves the ring', async () => {
    const front = await h2Front(['A', 'B']);
    const ws = await openH2WebSocket(front.port, '7');
    ws.send('who');
    const owner = (await ws.next()).payload.toString().split(':')[0]!;
    front.setTable([owner === 'A' ? 'B' : 'A']);
    expect(closeCode(await ws.next())).toBe(1012);
  });

  it('fails with the frontend renderer when no replica can take it', async () => {
    const front = await h2Front(['A'], { A: 'reset' });
    const ws = await openH2WebSocket(front.port, '7');
    expect(ws.status).toBe(502);
    await ws.ended;
    expect(JSON.parse(ws.body()).status).toBe('failure');
    // Counted once, as what the client got.
    expect(front.statuses).toEqual([502]);
  });

  it('works end to end through the balancer with --h2c, on the replica an HTTP/1.1 upgrade reaches', async () => {
    const backends = await echoReplicas(['A', 'B', 'C'], cleanups);
    const lb = await balancer({ provider: 'static', backends: backends.map((b) => b.url), h2c: true });
    cleanups.push(() => lb.close());
    for (const key of ['5', '424242']) {
      const ws = await openH2WebSocket(lb.port, key);
      expect(ws.status).toBe(200);
      ws.send('over h2');
      const viaH2 = (await ws.next()).payload.toString();
      const h1 = await openWebSocket(lb.port, '/chat', { 'x-request-id': key });
      h1.send('over h2');
      expect((await h1.next()).payload.toString()).toBe(viaH2);
      h1.socket.destroy();
      ws.stream.close(constants.NGHTTP2_CANCEL);
    }
  });
});
