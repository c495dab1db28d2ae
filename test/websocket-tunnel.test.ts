import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { balancer, call, waitFor } from './helpers.js';
import {
  echoReplicas,
  encodeFrame,
  FrameReader,
  openWebSocket,
  type Frame,
  type UpgradeBehaviour,
} from './websocket-peer.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(names: string[], behaviours: Record<string, UpgradeBehaviour> = {}, extra = {}) {
  const backends = await echoReplicas(names, cleanups, behaviours);
  const lb = await balancer({ provider: 'static', backends: backends.map((b) => b.url), ...extra });
  cleanups.push(() => lb.close());
  return { backends, lb };
}

/** A raw client connection that collects everything it receives. */
function rawClient(port: number): Promise<{ socket: Socket; received: () => Buffer; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    cleanups.push(() => void socket.destroy());
    socket.once('connect', () => resolve({ socket, received: () => Buffer.concat(chunks), closed }));
  });
}

function upgradeHead(key: string, extra = ''): string {
  return (
    `GET /chat HTTP/1.1\r\nhost: lb\r\nupgrade: websocket\r\nconnection: Upgrade\r\n` +
    `sec-websocket-key: ${randomBytes(16).toString('base64')}\r\nsec-websocket-version: 13\r\n` +
    `x-request-id: ${key}\r\n${extra}\r\n`
  );
}

/** The frames after the first response head in `bytes`. */
function framesAfterHead(bytes: Buffer): { status: number; frames: Frame[] } {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, frames: [] };
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(bytes.toString('latin1'))?.[1] ?? 0);
  return { status, frames: new FrameReader().push(bytes.subarray(end + 4)) };
}

describe('WebSockets on the fast front', () => {
  it('opens on a keep-alive connection after a plain request, on the same replica as that request', async () => {
    const { lb } = await setup(['A', 'B', 'C']);
    const client = await rawClient(lb.port);
    client.socket.write('GET /who HTTP/1.1\r\nhost: lb\r\nx-request-id: 4242\r\n\r\n');
    const plain = await waitFor('the plain answer', () => {
      const text = client.received().toString('latin1');
      return /\r\n\r\n[ABC]$/.test(text) ? text.slice(-1) : undefined;
    });
    const before = client.received().length;
    client.socket.write(upgradeHead('4242'));
    client.socket.write(encodeFrame(0x1, Buffer.from('same socket'), true));
    const reply = await waitFor('the echo', () => {
      const { status, frames } = framesAfterHead(client.received().subarray(before));
      return frames.length > 0 ? { status, text: frames[0]!.payload.toString() } : undefined;
    });
    expect(reply).toEqual({ status: 101, text: `${plain}:same socket` });
  });

  it('passes on frames the client sent in the same write as its upgrade head', async () => {
    const { backends, lb } = await setup(['A']);
    const client = await rawClient(lb.port);
    client.socket.write(
      Buffer.concat([
        Buffer.from(upgradeHead('1'), 'latin1'),
        encodeFrame(0x1, Buffer.from('early one'), true),
        encodeFrame(0x1, Buffer.from('early two'), true),
      ]),
    );
    const texts = await waitFor('both echoes', () => {
      const { frames } = framesAfterHead(client.received());
      return frames.length >= 2 ? frames.map((f) => f.payload.toString()) : undefined;
    });
    expect(texts).toEqual(['A:early one', 'A:early two']);
    // The replica saw this hop's upgrade headers and the balancer's X-Forwarded-*.
    const seen = backends[0]!.upgrades[0]!;
    expect(seen.upgrade).toBe('websocket');
    expect(seen.connection).toBe('Upgrade');
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen['x-forwarded-proto']).toBe('http');
  });

  it('relays an answer other than 101 as a normal response and closes', async () => {
    const { lb } = await setup(['A'], { A: 'refuse' });
    const client = await rawClient(lb.port);
    client.socket.write(upgradeHead('1'));
    await client.closed;
    const text = client.received().toString('latin1');
    expect(text).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(text).toMatch(/\r\nconnection: close\r\n/i);
    expect(text.endsWith('\r\n\r\nno: A')).toBe(true);
  });

  it('tries the next replica when the owner resets before its 101', async () => {
    const { lb } = await setup(['A', 'B'], { A: 'reset' });
    const names = new Set<string>();
    for (const key of ['1', '2', '3', '4', '5', '6', '7', '8']) {
      const ws = await openWebSocket(lb.port, '/chat', { 'x-request-id': key });
      expect(ws.status).toBe(101);
      ws.send('hi');
      names.add((await ws.next()).payload.toString().split(':')[0]!);
      ws.socket.destroy();
    }
    expect([...names]).toEqual(['B']);
  });

  it('answers 502 in the JSON failure shape when no replica can take the upgrade', async () => {
    const { lb } = await setup(['A'], { A: 'reset' });
    const client = await rawClient(lb.port);
    client.socket.write(upgradeHead('1'));
    await client.closed;
    const text = client.received().toString('latin1');
    expect(text).toMatch(/^HTTP\/1\.1 502 /);
    const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
    expect(body.status).toBe('failure');
    expect(body.message).toMatch(/^<Error> /);
  });

  it('holds a replica that sends faster than the client reads (backpressure), and loses nothing', async () => {
    const { backends, lb } = await setup(['A']);
    const ws = await openWebSocket(lb.port, '/chat');
    const total = 256 * 1024 * 1024;
    ws.send(`flood:${total}`);
    ws.socket.pause();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    // Kernel buffers on three sockets and the streams' high-water marks; nowhere near 256 MiB.
    expect(backends[0]!.flooded).toBeLessThan(48 * 1024 * 1024);
    expect(backends[0]!.flooded).toBeGreaterThan(0);
    ws.socket.resume();
    let got = 0;
    while (got < 4 * 1024 * 1024) got += (await ws.next()).payload.length;
    expect(got).toBeGreaterThanOrEqual(4 * 1024 * 1024);
    ws.socket.destroy();
  });

  it('keeps plain requests on the connection path working beside an open WebSocket', async () => {
    const { lb } = await setup(['A']);
    const ws = await openWebSocket(lb.port, '/chat');
    const plain = await call(`${lb.url}/who`);
    expect(plain.body).toBe('A');
    ws.send('x');
    expect((await ws.next()).payload.toString()).toBe('A:x');
    ws.socket.destroy();
  });
});
