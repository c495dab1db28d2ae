import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balancer, call } from './helpers.js';

/**
 * Property tests over real HTTP: whatever body a client sends to /add or /rm, the balancer answers a
 * 200 whose state is consistent with /rep (and with the change asked for), or a 4xx and nothing
 * changes. Four static backends keep /add cheap; FC_RUNS raises the count.
 */
const RUNS = Number(process.env.FC_RUNS ?? 60);
const BACKENDS = 4;

let servers: Server[] = [];
let lb: Awaited<ReturnType<typeof balancer>>;

beforeAll(async () => {
  servers = await Promise.all(
    Array.from({ length: BACKENDS }, async () => {
      const server = createServer((req, res) => res.end(req.url === '/health' ? '' : 'ok'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return server;
    }),
  );
  lb = await balancer({
    provider: 'static',
    backends: servers.map((s) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`),
    replicas: 2,
    healthPath: '/health',
    heartbeatIntervalMs: 100,
  });
});

afterAll(async () => {
  await lb?.close();
  for (const server of servers) server.closeAllConnections();
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

const safeName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,6}$/);
const someName = fc.oneof(safeName, fc.constantFrom('Server 1', 'Server 2', 'Server 3', 'Server 4', ''));

/** Bodies as text: plausible ones (often valid), any JSON, and text that is not JSON at all. */
const bodyText = fc.oneof(
  fc.constant(''),
  fc
    .record(
      {
        n: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constantFrom(0, -1, 1.5, 1001, '1', null)),
        hostnames: fc.oneof(fc.array(someName, { maxLength: 3 }), fc.jsonValue({ maxDepth: 1 })),
      },
      { requiredKeys: [] },
    )
    .map((body) => JSON.stringify(body)),
  fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 30 }),
);

const controlCall = fc.record({
  endpoint: fc.constantFrom('/add', '/rm'),
  method: fc.constantFrom('POST', 'DELETE'),
  body: bodyText,
});

async function replicas(): Promise<string[]> {
  const rep = await call(`${lb.url}/rep`);
  expect(rep.status).toBe(200);
  return rep.body.message.replicas;
}

describe('/add and /rm over HTTP (property-based)', () => {
  it('answer a consistent 200 or a 4xx that changes nothing, for any body', async () => {
    await fc.assert(
      fc.asyncProperty(controlCall, async ({ endpoint, method, body }) => {
        const before = await replicas();
        const reply = await call(`${lb.url}${endpoint}`, {
          method: endpoint === '/add' ? 'POST' : method,
          headers: { 'content-type': 'application/json' },
          body,
        });
        const after = await replicas();
        if (reply.status !== 200) {
          expect(reply.status).toBeGreaterThanOrEqual(400);
          expect(reply.status).toBeLessThan(500);
          expect(reply.body).toMatchObject({
            status: 'failure',
            message: expect.stringMatching(/^<Error> /),
          });
          expect(after).toEqual(before);
          return;
        }
        const { N, replicas: listed } = reply.body.message;
        expect(reply.body.status).toBe('successful');
        expect(N).toBe(listed.length);
        expect(new Set(listed).size).toBe(listed.length);
        expect([...listed].sort()).toEqual([...after].sort());
        // The change is the one asked for: its size, and the names given.
        const asked = body.trim() === '' ? {} : (JSON.parse(body) as { n?: number; hostnames?: string[] });
        const names = asked.hostnames ?? [];
        const n = asked.n ?? Math.max(1, names.length);
        if (endpoint === '/add') {
          expect(listed.length).toBe(before.length + n);
          for (const name of before) expect(listed).toContain(name);
          for (const name of names) expect(listed).toContain(name);
        } else {
          expect(listed.length).toBe(before.length - n);
          for (const name of listed) expect(before).toContain(name);
          for (const name of names) expect(listed).not.toContain(name);
        }
      }),
      { numRuns: RUNS, seed: 0xad0 },
    );
  }, 120_000);
});
