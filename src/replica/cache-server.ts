import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Agent, request } from 'undici';
import { PREVIOUS_OWNER_HEADER } from '../proxy/key-hints.js';
import { CacheStore, previousOwnerOrigin, type CacheEntry } from './cache-store.js';

/**
 * Marks a cache replica's request to another one (the previous owner of a key): answer from your
 * entries only, never from the origin, and follow no hint (so two replicas never ask each other in
 * a loop).
 */
export const PEER_HEADER = 'x-ringlb-cache-peer';
/** Where a cache replica's answer came from: `hit` (its own entry), `peer` (the previous owner), `origin`. */
export const CACHE_HEADER = 'x-cache';

export interface CacheOptions {
  /** The origin misses are fetched from, `http://host:port`. */
  readonly origin: string;
  /** Entries kept (least recently used dropped first). */
  readonly capacity: number;
  /** How long a previous owner may take before the origin is asked instead. */
  readonly peerTimeoutMs: number;
}

type Source = 'hit' | 'peer' | 'origin';

/**
 * The replica server in cache mode (`ringlb replica --cache`): `GET /heartbeat` as always, and every
 * other GET or HEAD is answered from its entries by the request's path and query. On a miss it asks
 * the previous owner that ringlb's `x-ringlb-previous-owner` names, if any, then the origin. Misses of
 * one key in flight at once share one fetch.
 */
export function createCacheServer(options: CacheOptions): Server {
  const store = new CacheStore(options.capacity);
  const agent = new Agent({ connections: 32, keepAliveTimeout: 4_000 });
  const pending = new Map<string, Promise<{ entry: CacheEntry; source: Source } | undefined>>();

  async function fetchEntry(origin: string, path: string, peer: boolean, timeoutMs: number) {
    const response = await request(`${origin}${path}`, {
      dispatcher: agent,
      headers: peer ? { [PEER_HEADER]: '1' } : {},
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const body = Buffer.from(await response.body.arrayBuffer());
    // A key the origin does not have is a miss everywhere; any other failure is the origin's.
    if (response.statusCode === 404) return undefined;
    if (response.statusCode !== 200) throw new Error(`status ${response.statusCode}`);
    const type = response.headers['content-type'];
    return { body, contentType: typeof type === 'string' ? type : 'application/octet-stream' };
  }

  async function miss(path: string, previous: string | undefined) {
    if (previous !== undefined) {
      const entry = await fetchEntry(previous, path, true, options.peerTimeoutMs).catch(() => undefined);
      if (entry !== undefined) return { entry, source: 'peer' as const };
    }
    const entry = await fetchEntry(options.origin, path, false, 10_000);
    return entry === undefined ? undefined : { entry, source: 'origin' as const };
  }

  function send(res: ServerResponse, req: IncomingMessage, entry: CacheEntry, source: Source): void {
    res.writeHead(200, {
      'content-type': entry.contentType,
      'content-length': entry.body.length,
      [CACHE_HEADER]: source,
    });
    res.end(req.method === 'HEAD' ? undefined : entry.body);
  }

  function fail(res: ServerResponse, status: number, message: string): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ message: `<Error> ${message}`, status: 'failure' }));
  }

  return createServer((req, res) => {
    const path = req.url ?? '/';
    if (path === '/heartbeat') {
      res.writeHead(200, { 'content-length': '0' });
      return void res.end();
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return fail(res, 405, `method ${req.method} is not allowed`);
    }
    const cached = store.get(path);
    if (cached !== undefined) return send(res, req, cached, 'hit');
    if (req.headers[PEER_HEADER] !== undefined) return fail(res, 404, `'${path}' is not cached here`);
    let fetching = pending.get(path);
    if (fetching === undefined) {
      const hint = req.headers[PREVIOUS_OWNER_HEADER];
      fetching = miss(path, previousOwnerOrigin(typeof hint === 'string' ? hint : undefined));
      pending.set(path, fetching);
      void fetching
        .then((got) => got && store.set(path, got.entry))
        .catch(() => undefined)
        .finally(() => pending.delete(path));
    }
    fetching.then(
      (got) =>
        got === undefined
          ? fail(res, 404, `the origin has no '${path}'`)
          : send(res, req, got.entry, got.source),
      (error: Error) => fail(res, 502, `the origin failed: ${error.message}`),
    );
  });
}
