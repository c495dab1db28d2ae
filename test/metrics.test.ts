import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProcessProvider } from '../src/providers/process-provider.js';
import { movedFraction } from '../src/ring/moved.js';
import { balancer, call, waitFor } from './helpers.js';
import { delta, parseMetrics } from './prometheus-text.js';

type Started = Awaited<ReturnType<typeof balancer>>;

describe('GET /metrics', () => {
  let lb: Started;
  beforeAll(async () => {
    lb = await balancer();
  });
  afterAll(async () => {
    await lb?.close();
  });

  const scrape = async () => {
    const reply = await call(`${lb.url}/metrics`);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseMetrics(reply.body as string);
  };

  /** A request id the current ring gives to `name`. */
  function idFor(name: string): number {
    const ring = lb.cluster.table.ring;
    for (let id = 0; id < 100_000; id++) if (ring.members[ring.pick(id)]!.name === name) return id;
    throw new Error(`no id for ${name}`);
  }

  it('counts exactly the proxied traffic sent, by replica and code, and nothing else', async () => {
    const sent = { 'Server 1': 7, 'Server 2': 5, 'Server 3': 3 };
    const ids = Object.fromEntries(Object.keys(sent).map((name) => [name, idFor(name)]));
    const before = await scrape();
    for (const [name, count] of Object.entries(sent)) {
      for (let i = 0; i < count; i++) {
        const reply = await call(`${lb.url}/home`, { headers: { 'x-request-id': String(ids[name]) } });
        expect(reply.body.message).toBe(`Hello from Server: ${name.split(' ')[1]}`);
      }
    }
    // Two requests for a path no replica serves: the seed's 400, counted under the replica asked.
    for (let i = 0; i < 2; i++) {
      const reply = await call(`${lb.url}/nowhere`, { headers: { 'x-request-id': String(ids['Server 2']) } });
      expect(reply.status).toBe(400);
    }
    // Operator and control traffic is not proxied traffic.
    await call(`${lb.url}/rep`);
    await call(`${lb.url}/dashboard`);
    await call(`${lb.url}/dashboard/state`);
    await scrape();
    const after = await scrape();

    for (const [name, count] of Object.entries(sent)) {
      const r = `replica="${name}"`;
      expect(delta(before, after, `ringlb_requests_total{code="200",protocol="http1",${r}}`), name).toBe(
        count,
      );
      const total = count + (name === 'Server 2' ? 2 : 0);
      expect(delta(before, after, `ringlb_request_duration_seconds_count{protocol="http1",${r}}`), name).toBe(
        total,
      );
      expect(
        delta(before, after, `ringlb_request_duration_seconds_bucket{le="+Inf",protocol="http1",${r}}`),
        name,
      ).toBe(total);
      expect(
        delta(before, after, `ringlb_request_duration_seconds_sum{protocol="http1",${r}}`),
      ).toBeGreaterThan(0);
    }
    expect(
      delta(before, after, 'ringlb_requests_total{code="400",protocol="http1",replica="Server 2"}'),
    ).toBe(2);
    const proxied = [...after.keys()].filter((key) => key.startsWith('ringlb_requests_total{'));
    const totalMoved = proxied.reduce((sum, key) => sum + delta(before, after, key), 0);
    expect(totalMoved).toBe(7 + 5 + 3 + 2);
    for (const counter of [
      'ringlb_retries_total{}',
      'ringlb_replacements_total{}',
      'ringlb_membership_changes_total{}',
      'ringlb_hash_key_fallbacks_total{}',
    ]) {
      expect(delta(before, after, counter), counter).toBe(0);
    }
    // Node's process metrics are there too.
    expect(after.get('process_cpu_user_seconds_total{}')).toBeGreaterThan(0);
    expect(after.has('nodejs_eventloop_lag_seconds{}')).toBe(true);
  });

  it('reports membership: states, key shares, changes, keys moved and replacements', async () => {
    const before = await scrape();
    expect(before.get('ringlb_replicas{state="healthy"}')).toBe(3);
    const ringBefore = lb.cluster.table.ring;
    expect((await call(`${lb.url}/add`, { method: 'POST', json: { hostnames: ['S4'], n: 1 } })).status).toBe(
      200,
    );
    const ringAfter = lb.cluster.table.ring;
    const added = await scrape();
    expect(delta(before, added, 'ringlb_membership_changes_total{}')).toBe(1);
    expect(added.get('ringlb_keys_moved_ratio{}')).toBe(movedFraction(ringBefore, ringAfter));
    expect(added.get('ringlb_keys_moved_ratio{}')).toBeGreaterThan(0);
    expect(added.get('ringlb_replicas{state="healthy"}')).toBe(4);
    for (const state of ['ejected', 'starting', 'draining'])
      expect(added.get(`ringlb_replicas{state="${state}"}`)).toBe(0);
    const shares = ringAfter.shares();
    ringAfter.members.forEach((member, i) =>
      expect(added.get(`ringlb_replica_key_share{replica="${member.name}"}`)).toBe(shares[i]),
    );

    const provider = lb.provider as ProcessProvider;
    const pid = provider.pidOf('Server 2')!;
    process.kill(pid, 'SIGKILL');
    await waitFor('Server 2 to be replaced', () => {
      const now = provider.pidOf('Server 2');
      const healthy = lb.cluster.describe().find((r) => r.name === 'Server 2')?.state === 'healthy';
      return now !== undefined && now !== pid && healthy ? true : undefined;
    });
    const healed = await scrape();
    expect(delta(added, healed, 'ringlb_replacements_total{}')).toBe(1);
    // Out of the ring when it died, back in when replaced.
    expect(delta(added, healed, 'ringlb_membership_changes_total{}')).toBe(2);

    expect((await call(`${lb.url}/rm`, { method: 'POST', json: { hostnames: ['S4'] } })).status).toBe(200);
    const removed = await scrape();
    expect(removed.has('ringlb_replica_key_share{replica="S4"}')).toBe(false);
    expect(removed.get('ringlb_replicas{state="healthy"}')).toBe(3);
  });
});
