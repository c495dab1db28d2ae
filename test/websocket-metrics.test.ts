import { afterEach, describe, expect, it } from 'vitest';
import { startCli } from './cli-process.js';
import { balancer, call, waitFor } from './helpers.js';
import { parseMetrics } from './prometheus-text.js';
import { echoReplicas, encodeFrame, openWebSocket, type WebSocketClient } from './websocket-peer.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The WebSocket series of a scrape (0 when absent). */
async function webSocketSeries(url: string): Promise<(key: string) => number> {
  const series = parseMetrics((await call(`${url}/metrics`)).body as string);
  return (key) => series.get(key) ?? 0;
}

/**
 * Opens `count` WebSockets with keys spread over the replicas, sends each some messages and reads
 * the echoes; returns the sockets and the bytes each way per replica name (as the echo names itself).
 */
async function traffic(port: number, count: number) {
  const open: WebSocketClient[] = [];
  const toReplica = new Map<string, number>();
  const toClient = new Map<string, number>();
  const perReplica = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const ws = await openWebSocket(port, '/chat', { 'x-request-id': String(1000 + i * 7919) });
    expect(ws.status).toBe(101);
    open.push(ws);
    let name = '';
    for (const text of [`m${i}`, 'x'.repeat(200 + i), 'y'.repeat(70_000)]) {
      // A client frame is masked: 4 bytes of mask after the length.
      const sent = encodeFrame(0x1, Buffer.from(text), true).length;
      ws.send(text);
      const reply = await ws.next();
      name = reply.payload.toString('latin1', 0, reply.payload.indexOf(':'));
      toReplica.set(name, (toReplica.get(name) ?? 0) + sent);
      toClient.set(name, (toClient.get(name) ?? 0) + encodeFrame(0x1, reply.payload, false).length);
    }
    perReplica.set(name, (perReplica.get(name) ?? 0) + 1);
  }
  return { open, toReplica, toClient, perReplica };
}

/** The replica name ringlb uses for the echo replica that calls itself `echoName`. */
function ringName(backends: { url: string }[], urls: string[], echoName: string, names: string[]): string {
  return `Server ${urls.indexOf(backends[names.indexOf(echoName)]!.url) + 1}`;
}

async function expectCounts(url: string, backends: { url: string }[], names: string[], count: number) {
  const urls = backends.map((b) => b.url);
  const before = await webSocketSeries(url);
  const port = Number(new URL(url).port);
  const { open, toReplica, toClient, perReplica } = await traffic(port, count);
  expect(perReplica.size).toBeGreaterThan(1);
  await waitFor('the gauges and counters', async () => {
    const now = await webSocketSeries(url);
    for (const echo of names) {
      const replica = ringName(backends, urls, echo, names);
      const label = `replica="${replica}"`;
      if (now(`ringlb_websockets_open{${label}}`) !== (perReplica.get(echo) ?? 0)) return undefined;
      const up = `ringlb_websocket_bytes_total{direction="to_replica",${label}}`;
      const down = `ringlb_websocket_bytes_total{direction="to_client",${label}}`;
      if (now(up) - before(up) !== (toReplica.get(echo) ?? 0)) return undefined;
      if (now(down) - before(down) !== (toClient.get(echo) ?? 0)) return undefined;
      // Each upgrade is one request through the router, protocol "websocket", answered 101.
      const upgrades = `ringlb_requests_total{code="101",protocol="websocket",${label}}`;
      if (now(upgrades) - before(upgrades) !== (perReplica.get(echo) ?? 0)) return undefined;
    }
    return now('ringlb_websockets_open_all{}') === count ? true : undefined;
  });
  for (const ws of open) ws.socket.destroy();
  await waitFor('the gauges back at 0', async () => {
    const now = await webSocketSeries(url);
    return now('ringlb_websockets_open_all{}') === 0 ? true : undefined;
  });
}

describe('WebSocket metrics', () => {
  it('count open WebSockets per replica and in all, and the bytes each way, exactly', async () => {
    const names = ['A', 'B', 'C'];
    const backends = await echoReplicas(names, cleanups);
    const lb = await balancer({ provider: 'static', backends: backends.map((b) => b.url) });
    cleanups.push(() => lb.close());
    await expectCounts(lb.url, backends, names, 6);
  });

  it('sum every worker with --workers 2', async () => {
    const names = ['A', 'B', 'C'];
    const backends = await echoReplicas(names, cleanups);
    const lb = await startCli(
      '--workers',
      '2',
      '--provider',
      'static',
      '--backends',
      backends.map((b) => b.url).join(','),
    );
    cleanups.push(async () => {
      lb.child.kill('SIGTERM');
      await lb.exited;
    });
    await expectCounts(lb.url, backends, names, 8);
  });
});
