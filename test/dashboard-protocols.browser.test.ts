import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frameHead, MisbehavingGrpcReplica } from './conformance/misbehaving-grpc-replica.js';
import { balancer } from './helpers.js';
import { echoReplica, openWebSocket, type EchoReplica, type WebSocketClient } from './websocket-peer.js';

const CHROMIUM = process.env.RINGLB_CHROMIUM ?? '/usr/bin/chromium';

/**
 * The dashboard's req/s and p99 columns count every protocol (issue 14): three replicas, each
 * reached by one protocol only (WebSocket upgrades, gRPC calls, plain HTTP/2), and each replica's
 * row in a real browser must show its load. (The CI requirement for chromium is in
 * dashboard.browser.test.ts.)
 */
describe.skipIf(!existsSync(CHROMIUM))('the dashboard counts HTTP/2, gRPC and WebSocket traffic', () => {
  let ws: EchoReplica;
  let h2: EchoReplica;
  const grpc = new MisbehavingGrpcReplica('grpc');
  let lb: Awaited<ReturnType<typeof balancer>>;
  let context: BrowserContext;
  let profile: string;
  const sockets: WebSocketClient[] = [];

  beforeAll(async () => {
    [ws, h2] = await Promise.all([echoReplica('ws'), echoReplica('h2'), grpc.listen()]);
    lb = await balancer({
      provider: 'static',
      backends: [ws.url, grpc.url, h2.url],
      healthPath: '/health',
      h2c: true,
    });
    profile = mkdtempSync(join(tmpdir(), 'ringlb-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
    });
  }, 30_000);

  afterAll(async () => {
    for (const socket of sockets) socket.socket.destroy();
    await context?.close();
    await lb?.close();
    for (const replica of [ws, h2]) {
      replica?.kill();
      replica?.server.close();
    }
    await grpc.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('shows req/s and p99 for replicas that only WebSocket, gRPC and HTTP/2 traffic reached', async () => {
    const ring = lb.cluster.table.ring;
    const keysOf = (name: string) =>
      [...Array(2000).keys()].filter((k) => ring.members[ring.pick(k)]!.name === name).slice(0, 20);
    const [wsKeys, grpcKeys, h2Keys] = ['Server 1', 'Server 2', 'Server 3'].map(keysOf);
    const session = connect(lb.url);
    session.on('error', () => undefined);
    const exchange = (headers: Record<string, string>, body?: Buffer) =>
      new Promise<void>((resolve, reject) => {
        const stream = session.request(headers, { endStream: body === undefined });
        stream.on('data', () => undefined);
        stream.on('error', reject);
        stream.on('close', () => resolve());
        if (body) stream.end(body);
      });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(`${lb.url}/dashboard`);
      await page.locator('#replicas tbody tr').first().waitFor();
      // Traffic for about 2 s (bounded in count), each protocol to its own replica.
      const until = Date.now() + 2_000;
      for (let round = 0; round < 200 && Date.now() < until; round++) {
        const key = (keys: number[]) => String(keys[round % keys.length]);
        const opened = await openWebSocket(lb.port, '/chat', { 'x-request-id': key(wsKeys!) });
        expect(opened.status).toBe(101);
        opened.socket.destroy();
        await Promise.all([
          exchange(
            {
              ':method': 'POST',
              ':path': '/dash.Echo/Unary',
              'content-type': 'application/grpc',
              te: 'trailers',
              'x-request-id': key(grpcKeys!),
            },
            Buffer.concat([frameHead(2), Buffer.from('hi')]),
          ),
          exchange({ ':path': '/page', 'x-request-id': key(h2Keys!) }),
        ]);
      }
      expect(ws.upgrades.length, 'upgrades reached the WebSocket replica').toBeGreaterThan(0);
      expect(grpc.calls, 'calls reached the gRPC replica').toBeGreaterThan(0);
      const columns = await page.$$eval('#replicas thead th', (ths) => ths.map((th) => th.textContent));
      const rps = columns.indexOf('req/s');
      const p99 = columns.indexOf('p99');
      expect(rps).toBeGreaterThan(0);
      const load = () =>
        page.$$eval(
          '#replicas tbody tr',
          (trs, [a, b]) =>
            trs.map((tr) => {
              const cells = [...tr.querySelectorAll('td')];
              return [tr.dataset.replica, cells[a!]?.textContent, cells[b!]?.textContent];
            }),
          [rps, p99],
        );
      await expect
        .poll(
          async () =>
            (await load()).every(([, r, p]) => Number(r) > 0 && /^[\d.]+ ms$/.test(p ?? '')) ||
            JSON.stringify(await load()),
          { timeout: 5_000 },
        )
        .toBe(true);
    } finally {
      session.destroy();
    }
  });
});
