import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { xxh32String } from '../src/core/xxhash32.js';
import { balancer, call } from './helpers.js';

// `--hash-key uri` over real HTTP: nginx's `hash $request_uri consistent`, as a user coming from nginx sets it.
describe('--ring ketama --hash-key uri', () => {
  const servers: Server[] = [];
  let lb: Awaited<ReturnType<typeof balancer>>;

  /** A backend that reads the whole body and says who it is and how many bytes it got. */
  async function backend(name: string): Promise<string> {
    const server = createServer((req, res) => {
      let bytes = 0;
      req.on('data', (chunk: Buffer) => (bytes += chunk.length));
      req.on('end', () => res.end(JSON.stringify({ name, bytes, url: req.url })));
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  beforeAll(async () => {
    const backends = [await backend('a'), await backend('b'), await backend('c')];
    lb = await balancer({ provider: 'static', backends, healthPath: '/', ring: 'ketama', hashKey: 'uri' });
  });
  afterAll(async () => {
    await lb?.close();
    for (const server of servers) server.close();
  });

  const expectedBackend = (uri: string) => {
    const ring = lb.cluster.table.ring;
    return ['a', 'b', 'c'][ring.members[ring.pick(xxh32String(uri))]!.number - 1];
  };

  it('sends each path-and-query to the replica the ring picks for it, with and without a body', async () => {
    const seen = new Set<string>();
    for (let k = 1; k <= 24; k++) {
      const uri = `/home?k=${k}`;
      const expected = expectedBackend(uri);
      seen.add(expected!);
      const get = await call(`${lb.url}${uri}`);
      expect(get.body).toEqual({ name: expected, bytes: 0, url: uri });
      const post = await call(`${lb.url}${uri}`, { method: 'POST', body: 'x'.repeat(1024) });
      expect(post.body).toEqual({ name: expected, bytes: 1024, url: uri });
    }
    // Varying only the query spreads over every replica (with `path` it would all be one).
    expect(seen.size).toBe(3);
  });
});
