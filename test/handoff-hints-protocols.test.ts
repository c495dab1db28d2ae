import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, createServer as createH2Server, type ClientHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startCli, type Started } from './cli-process.js';
import { call } from './helpers.js';
import { echoReplicas, openWebSocket, type EchoReplica } from './websocket-peer.js';

/**
 * Hand-off hints on every path, with ringlb as its own process: HTTP/1.1 clients on the raw-socket
 * fast path, HTTP/2 (h2c) clients, to HTTP/1.1 replicas and to h2c replicas. Nothing here knows the
 * ring: which keys moved is what the replicas saw, and the previous owner a hint must name is the
 * owner `x-ringlb-owners` named before the change.
 */

interface Seen {
  readonly origin: string;
  readonly headers: IncomingHttpHeaders;
  /** Header names as they reached the replica (the fast path keeps a client's spelling). */
  readonly names: string[];
}

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A replica that answers with its origin and the headers it was sent, over HTTP/1.1 or h2c. */
async function echo(h2c: boolean): Promise<string> {
  let origin = '';
  const handler = (
    req: { url?: string; headers: IncomingHttpHeaders; rawHeaders: string[] },
    res: {
      setHeader(n: string, v: string): void;
      end(body: string): void;
    },
  ) => {
    if (req.url === '/health') return void res.end('ok');
    const names = req.rawHeaders.filter((_, i) => i % 2 === 0);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ origin, headers: req.headers, names }));
  };
  const server = h2c ? createH2Server(handler) : createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  cleanups.push(() => {
    if ('closeAllConnections' in server) (server as Server).closeAllConnections();
    server.close();
  });
  return origin;
}

const FORGED = { 'X-Ringlb-Previous-Owner': 'Server 9 http://evil:1', 'X-Ringlb-Owners': 'forged' };

function viaHttp1(url: string, key: number): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/x`, { headers: { 'X-Request-Id': String(key), ...FORGED } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        res.statusCode === 200
          ? resolve(JSON.parse(body) as Seen)
          : reject(new Error(`${res.statusCode} ${body}`)),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

function viaH2(session: ClientHttp2Session, key: number): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':path': '/x',
      'x-request-id': String(key),
      'x-ringlb-previous-owner': FORGED['X-Ringlb-Previous-Owner'],
      'x-ringlb-owners': FORGED['X-Ringlb-Owners'],
    });
    let status = 0;
    let body = '';
    stream.setEncoding('utf8');
    stream.on('response', (headers) => (status = Number(headers[':status'])));
    stream.on('data', (chunk: string) => (body += chunk));
    stream.on('end', () =>
      status === 200 ? resolve(JSON.parse(body) as Seen) : reject(new Error(`${status} ${body}`)),
    );
    stream.on('error', reject);
  });
}

/** A ringlb process over static `backends` on ketama, with both hints on. */
function startWithHints(backends: string[], ...extra: string[]): Promise<Started> {
  const hints = ['--handoff-window', String(WINDOW_S), '--owners-header', '2'];
  return startCli(
    '--provider',
    'static',
    '--backends',
    backends.join(','),
    '--ring',
    'ketama',
    ...hints,
    ...extra,
  );
}

const KEYS = Array.from({ length: 60 }, (_, k) => k * 7_919 + 3);
const WINDOW_S = 6;

describe.each([
  { replicas: 'HTTP/1.1', h2c: false },
  { replicas: 'h2c', h2c: true },
])('hand-off hints from a ringlb process to $replicas replicas', ({ h2c }) => {
  it('over HTTP/1.1 and HTTP/2: the moved keys name their previous owner, the others nothing, a client copy never passes', async () => {
    const origins = [await echo(h2c), await echo(h2c), await echo(h2c), await echo(h2c)];
    const lb = await startWithHints(
      origins.slice(0, 3),
      '--upstream-protocol',
      h2c ? 'h2c' : 'http1',
      '--health-path',
      '/health',
      '--h2c',
    );
    // A session of its own for each phase: the balancer may close one left idle between phases
    // (a GOAWAY, after which new streams are refused).
    let session: ClientHttp2Session | undefined;
    const newPhase = () => {
      session?.close();
      const opened = connect(lb.url);
      opened.on('error', () => undefined);
      cleanups.push(() => opened.destroy());
      session = opened;
    };
    const h2Session = () => session!;
    newPhase();
    const clients = [(key: number) => viaHttp1(lb.url, key), (key: number) => viaH2(h2Session(), key)];

    // Before any change: no previous owner, the key's two owners, the first of them the replica.
    const ownerBefore = new Map<number, Seen>();
    const labelBefore = new Map<number, string>();
    for (const send of clients) {
      for (const key of KEYS) {
        const seen = await send(key);
        expect(seen.headers['x-ringlb-previous-owner']).toBeUndefined();
        const owners = String(seen.headers['x-ringlb-owners']).split(', ');
        expect(owners).toHaveLength(2);
        expect(owners[0]!.endsWith(` ${seen.origin}`), owners[0]).toBe(true);
        expect(owners[1]).not.toBe(owners[0]);
        if (ownerBefore.has(key)) expect(seen.origin).toBe(ownerBefore.get(key)!.origin);
        ownerBefore.set(key, seen);
        labelBefore.set(key, owners[0]!);
      }
    }
    // The HTTP/1.1 client was served by the raw-socket path to HTTP/1.1 replicas: it passes on a
    // header name as the client spelled it (node:http's path would have lowercased it).
    if (!h2c) expect((await viaHttp1(lb.url, 1)).names).toContain('X-Request-Id');

    const added = await call(`${lb.url}/add`, {
      method: 'POST',
      json: { backends: [origins[3]], hostnames: ['S4'] },
    });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    const changedAt = Date.now();
    newPhase();
    let moved = 0;
    for (const send of clients) {
      for (const key of KEYS) {
        const seen = await send(key);
        const hint = seen.headers['x-ringlb-previous-owner'];
        if (seen.origin === ownerBefore.get(key)!.origin) {
          expect(hint, `key ${key}`).toBeUndefined();
        } else {
          moved++;
          expect(seen.origin).toBe(origins[3]);
          expect(hint, `key ${key}`).toBe(labelBefore.get(key));
        }
        expect(String(seen.headers['x-ringlb-owners']).startsWith('forged')).toBe(false);
      }
    }
    // All within the window (on a machine too busy for that, the test says so rather than lie).
    expect(Date.now() - changedAt).toBeLessThan(WINDOW_S * 1000);
    expect(moved).toBeGreaterThan(4);

    // After the window the previous ring is gone: no hint on any path.
    await new Promise((resolve) => setTimeout(resolve, changedAt + WINDOW_S * 1000 + 300 - Date.now()));
    newPhase();
    for (const send of clients) {
      for (const key of KEYS.slice(0, 20))
        expect((await send(key)).headers['x-ringlb-previous-owner']).toBeUndefined();
    }
  }, 40_000);
});

describe('hand-off hints on WebSocket upgrades, from a ringlb process', () => {
  it("the upgrade a replica gets names the key's owners, and the previous owner once the key moved", async () => {
    const replicas = await echoReplicas(['a', 'b', 'c', 'd'], cleanups);
    const lb = await startWithHints(replicas.slice(0, 3).map((r) => r.url));
    /** Opens a WebSocket for `key`: the replica that took the upgrade, and the headers it got. */
    const upgrade = async (key: number) => {
      const counts = replicas.map((r) => r.upgrades.length);
      const ws = await openWebSocket(lb.port, '/chat', { 'x-request-id': String(key), ...FORGED });
      expect(ws.status).toBe(101);
      ws.socket.destroy();
      const reached = replicas.findIndex((r, i) => r.upgrades.length > counts[i]!);
      const replica: EchoReplica = replicas[reached]!;
      return { replica, headers: replica.upgrades.at(-1)! };
    };
    const keys = KEYS.slice(0, 40);
    const before = new Map<number, { replica: EchoReplica; owner: string }>();
    for (const key of keys) {
      const { replica, headers } = await upgrade(key);
      expect(headers['x-ringlb-previous-owner']).toBeUndefined();
      const owners = String(headers['x-ringlb-owners']).split(', ');
      expect(owners).toHaveLength(2);
      expect(owners[0]!.endsWith(` ${replica.url}`), owners[0]).toBe(true);
      before.set(key, { replica, owner: owners[0]! });
    }
    const added = await call(`${lb.url}/add`, {
      method: 'POST',
      json: { backends: [replicas[3]!.url], hostnames: ['S4'] },
    });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    let moved = 0;
    for (const key of keys) {
      const { replica, headers } = await upgrade(key);
      const was = before.get(key)!;
      if (replica === was.replica) {
        expect(headers['x-ringlb-previous-owner'], `key ${key}`).toBeUndefined();
      } else {
        moved++;
        expect(replica).toBe(replicas[3]);
        expect(headers['x-ringlb-previous-owner'], `key ${key}`).toBe(was.owner);
      }
    }
    expect(moved).toBeGreaterThan(2);
  }, 30_000);
});
