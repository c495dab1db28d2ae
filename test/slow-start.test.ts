import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../src/cli/config.js';
import type { ProcessProvider } from '../src/providers/process-provider.js';
import type { RingAlgorithm } from '../src/ring/registry.js';
import { balancer, call, waitFor } from './helpers.js';
import { parseMetrics } from './prometheus-text.js';

type Started = Awaited<ReturnType<typeof balancer>>;

/** The same request ids every second, so a second's share is the ring's share of them, not a sample. */
const KEYS = Array.from({ length: 240 }, (_, k) => String(k * 104_729 + 11));
const WINDOW_S = 10;

/** One pass over KEYS (48 at a time): the fraction that replica `number` answered. */
async function passShare(lb: Started, number: number): Promise<number> {
  let hits = 0;
  for (let start = 0; start < KEYS.length; start += 48) {
    const replies = await Promise.all(
      KEYS.slice(start, start + 48).map((key) =>
        call(`${lb.url}/home`, { headers: { 'x-request-id': key } }),
      ),
    );
    for (const reply of replies) {
      expect(reply.status).toBe(200);
      if (Number(/Server: (\d+)/.exec(reply.body.message)![1]) === number) hits++;
    }
  }
  return hits / KEYS.length;
}

/** Reads the dashboard's event stream in the background; the ring changes seen so far. */
async function ringEvents(lb: Started): Promise<{ reasons: string[]; stop: () => void }> {
  const reasons: string[] = [];
  const abort = new AbortController();
  let opened: () => void = () => undefined;
  const open = new Promise<void>((resolve) => (opened = resolve));
  void (async () => {
    const response = await fetch(`${lb.url}/events`, { signal: abort.signal });
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of response.body!) {
      opened();
      buffered += decoder.decode(chunk as Uint8Array, { stream: true });
      let end: number;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const message = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (!message.startsWith('event: event\n')) continue;
        const event = JSON.parse(message.slice(message.indexOf('data: ') + 6));
        if (event.kind === 'ring') reasons.push(event.reason);
      }
    }
  })().catch(() => undefined);
  // Listening before the change, so no step is missed.
  await open;
  return { reasons, stop: () => abort.abort() };
}

const RINGS: RingAlgorithm[] = ['ketama', 'maglev', 'rendezvous'];

describe.each(RINGS)('slow start on %s, over HTTP', (ring) => {
  let lb: Started;
  beforeAll(async () => {
    lb = await balancer({ ring, slowStart: WINDOW_S });
  });
  afterAll(async () => {
    await lb?.close();
  });

  it('a new replica never gets more than 1.1x its final share in any second of a 10 s window', async () => {
    const events = await ringEvents(lb);
    const metrics = async () =>
      parseMetrics((await call(`${lb.url}/metrics`)).body).get('ringlb_membership_changes_total{}') ?? 0;
    const changesBefore = await metrics();
    const added = await call(`${lb.url}/add`, { method: 'POST', json: { hostnames: ['S4'] } });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    const since = Date.now();
    // GET /ring and the dashboard show the ramp.
    const shown = (await call(`${lb.url}/ring`)).body.message.replicas.find(
      (r: { name: string }) => r.name === 'S4',
    );
    expect(shown).toMatchObject({ weight: 1 });
    expect(shown.warming).toBeGreaterThan(0);
    expect(shown.warming).toBeLessThan(0.5);
    const row = (await call(`${lb.url}/dashboard/state`)).body.replicas.find(
      (r: { name: string }) => r.name === 'S4',
    );
    expect(row.warming).toBeGreaterThan(0);
    const shares: number[] = [];
    const starts: number[] = [];
    for (let second = 0; second < WINDOW_S; second++) {
      const wait = since + second * 1000 - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      starts.push((Date.now() - since) / 1000);
      shares.push(await passShare(lb, 4));
    }
    await waitFor('the ramp to end', () => (lb.cluster.warming('S4') === undefined ? true : undefined));
    const final = await passShare(lb, 4);
    console.log(
      `${ring}: S4's share of requests, second by second: ${shares.map((s) => s.toFixed(3)).join(' ')}; final ${final.toFixed(3)} (passes started at ${starts.map((s) => s.toFixed(1)).join(' ')} s)`,
    );
    expect(final).toBeGreaterThan(0.15);
    for (const [second, share] of shares.entries()) {
      expect(share, `second ${second}`).toBeLessThanOrEqual(1.1 * final);
    }
    // It did ramp: well below its share at first (a pass may take a few seconds on a busy machine,
    // and the weight is 1/10 at first), all of it by the end of the window.
    expect(shares[0]).toBeLessThan(0.75 * final);
    expect(shares[0]).toBeGreaterThan(0);
    expect(shares[WINDOW_S - 1]).toBeCloseTo(final, 5);
    // Each step was a ring change: on the dashboard's timeline and in the metrics.
    events.stop();
    const steps = events.reasons.filter((reason) => reason.startsWith('S4 slow start'));
    expect(steps.length).toBe(WINDOW_S - 1);
    expect(steps.at(-1)).toBe('S4 slow start done: full weight 1');
    expect((await metrics()) - changesBefore).toBeGreaterThanOrEqual(WINDOW_S);
    expect(lb.cluster.describe().find((r) => r.name === 'S4')).not.toHaveProperty('warming');
  }, 60_000);
});

describe('slow start after a replacement (ketama)', () => {
  let lb: Started;
  beforeAll(async () => {
    lb = await balancer({ ring: 'ketama', slowStart: 3 });
  });
  afterAll(async () => {
    await lb?.close();
  });

  it('a replica replaced after it died ramps up again; the first ring is full at once', async () => {
    expect(lb.cluster.describe().every((r) => r.warming === undefined)).toBe(true);
    const provider = lb.provider as ProcessProvider;
    const pid = provider.pidOf('Server 2')!;
    process.kill(pid, 'SIGKILL');
    const warming = await waitFor('Server 2 to be replaced and warming', () => {
      const row = lb.cluster.describe().find((r) => r.name === 'Server 2');
      return row?.state === 'healthy' && provider.pidOf('Server 2') !== pid ? row.warming : undefined;
    });
    expect(warming).toBeCloseTo(1 / 3, 5);
    expect(lb.cluster.table.routes.find((r) => r.name === 'Server 2')!.weight).toBeCloseTo(1 / 3, 5);
    await waitFor('the ramp to end', () => (lb.cluster.warming('Server 2') === undefined ? true : undefined));
    expect(lb.cluster.table.routes.map((r) => r.weight)).toEqual([1, 1, 1]);
  });

  it('refuses slow start on the classic ring, at start-up and by PUT /ring', async () => {
    expect(() => configSchema.parse({ slowStart: 5 })).toThrow(/the classic ring .* has no weights/);
    const reply = await call(`${lb.url}/ring`, { method: 'PUT', json: { algorithm: 'classic' } });
    expect(reply.status).toBe(400);
    expect(reply.body.message).toMatch(/^<Error> slow start \(--slow-start 3\) ramps a replica's weight/);
    expect((await call(`${lb.url}/ring`)).body.message.algorithm).toBe('ketama');
  });
});
