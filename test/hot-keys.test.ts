import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { call } from './helpers.js';
import { startCli, type Started as CliStarted } from './cli-process.js';
import { parseMetrics } from './prometheus-text.js';

interface HotKey {
  key: string;
  rps: number;
  share: number;
  owner: string | null;
}

/**
 * Sends requests for `ms` (at most `max`), 16 at a time: `hot` keys get their share of them, the
 * rest go to spread ids. `header` carries the key.
 */
async function load(
  url: string,
  ms: number,
  hot: readonly { key: string; share: number }[],
  header = 'x-request-id',
  max = 20_000,
): Promise<number> {
  const until = Date.now() + ms;
  let sent = 0;
  const next = () => {
    const n = sent++;
    let at = (n * 0.618_034) % 1;
    for (const { key, share } of hot) {
      if (at < share) return key;
      at -= share;
    }
    return String(100_000 + ((n * 7_919) % 800_000));
  };
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (Date.now() < until && sent < max) {
        const reply = await call(`${url}/home`, { headers: { [header]: next() } });
        expect(reply.status).toBe(200);
      }
    }),
  );
  return sent;
}

async function hotKeys(url: string): Promise<HotKey[]> {
  const reply = await call(`${url}/keys/hot`);
  expect(reply.status).toBe(200);
  expect(reply.body.status).toBe('successful');
  return reply.body.message.keys;
}

/** How long after `since` the key first shows in the top 3 (polled every 50 ms), or undefined. */
async function timeToTop3(
  url: string,
  key: string,
  since: number,
  timeoutMs: number,
): Promise<number | undefined> {
  while (Date.now() - since < timeoutMs) {
    const top = await hotKeys(url);
    if (top.slice(0, 3).some((k) => k.key === key)) return Date.now() - since;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return undefined;
}

describe('hot keys over HTTP, one process (request ids)', () => {
  // A balancer process of its own, so the load and the polls here do not slow it down (the test
  // helper stops it after the test).
  let lb: CliStarted;
  beforeAll(async () => {
    lb = await startCli('--ring', 'ketama');
  });

  it('a key at 5 % of traffic is in the top 3 within 2 s, beside keys hot before it; cold keys are forgotten', async () => {
    // Two keys are hot first; then 777777 joins them at 5 %.
    const before = [
      { key: '111111', share: 0.08 },
      { key: '222222', share: 0.06 },
    ];
    await load(lb.url, 2_500, before);
    const since = Date.now();
    const [took, sent] = await Promise.all([
      timeToTop3(lb.url, '777777', since, 4_000),
      load(lb.url, 4_000, [...before, { key: '777777', share: 0.05 }]),
    ]);
    console.log(
      `a key at 5 % of traffic reached the top 3 of GET /keys/hot in ${took} ms (load: ${Math.round(sent / 4)} req/s)`,
    );
    expect(took).toBeDefined();
    expect(took!).toBeLessThanOrEqual(2_000);
    const top = await hotKeys(lb.url);
    expect(top.length).toBeLessThanOrEqual(20);
    expect(top.slice(0, 3).map((k) => k.key)).toEqual(['111111', '222222', '777777']);
    const hot = top[2]!;
    // The owner named is the replica a request with that id reaches.
    const reached = await call(`${lb.url}/home`, { headers: { 'x-request-id': '777777' } });
    expect(hot.owner).toBe(`Server ${/Server: (\d+)/.exec(reached.body.message)![1]}`);
    expect(hot.share).toBeGreaterThan(0.035);
    expect(hot.share).toBeLessThan(0.065);
    expect(hot.rps).toBeGreaterThan(0);
    for (let i = 1; i < top.length; i++) expect(top[i - 1]!.share).toBeGreaterThanOrEqual(top[i]!.share);
    const metrics = parseMetrics((await call(`${lb.url}/metrics`)).body);
    expect(metrics.get('ringlb_hot_key_share{}')).toBeGreaterThan(0.05);
    expect(metrics.get('ringlb_hot_key_share{}')).toBeLessThan(0.11);
    const state = (await call(`${lb.url}/dashboard/state`)).body;
    expect(state.hotKeys.map((k: HotKey) => k.key)).toContain('777777');
    // Keys that went cold are forgotten after the window; only GET is answered.
    await new Promise((resolve) => setTimeout(resolve, 2_600));
    expect(await hotKeys(lb.url)).toEqual([]);
    const post = await call(`${lb.url}/keys/hot`, { method: 'POST' });
    expect(post.status).toBe(405);
  }, 40_000);
});

describe('hot keys over HTTP, two workers (a header key)', () => {
  let cli: CliStarted | undefined;
  afterEach(() => {
    cli?.child.kill('SIGTERM');
  });

  it('merges the workers and names string keys as they came', async () => {
    cli = await startCli('--workers', '2', '--ring', 'maglev', '--hash-key', 'header:x-user');
    await load(cli.url, 3_000, [{ key: 'alice@example.com', share: 0.1 }], 'x-user');
    const top = await hotKeys(cli.url);
    expect(top[0]).toMatchObject({ key: 'alice@example.com' });
    expect(top[0]!.share).toBeGreaterThan(0.07);
    expect(top[0]!.owner).toMatch(/^Server [123]$/);
  }, 30_000);

  it('with --hot-keys false, GET /keys/hot says they are not kept', async () => {
    cli = await startCli('--hot-keys', 'false');
    const reply = await call(`${cli.url}/keys/hot`);
    expect(reply.status).toBe(404);
    expect(reply.body.message).toBe('<Error> hot keys are not kept: the balancer runs with --hot-keys false');
  }, 30_000);
});
