import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProcessProvider } from '../src/providers/process-provider.js';
import { balancer, call, isAlive, waitFor } from './helpers.js';

type Started = Awaited<ReturnType<typeof balancer>>;

describe('heartbeat and self-healing with real replica processes', () => {
  let lb: Started;
  const stopped: number[] = [];
  beforeAll(async () => {
    lb = await balancer();
  });
  afterAll(async () => {
    for (const pid of stopped) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await lb?.close();
  });

  const provider = () => lb.provider as ProcessProvider;

  /** A request id that the full ring (every replica healthy) gives to `name`. */
  function idOwnedBy(name: string): number {
    const ring = lb.cluster.table.ring;
    for (let id = 0; id < 1_000_000; id++) if (ring.members[ring.pick(id)]!.name === name) return id;
    throw new Error(`no id for ${name}`);
  }

  async function replaced(name: string, oldPid: number): Promise<number> {
    return waitFor(`${name} to be replaced`, () => {
      const pid = provider().pidOf(name);
      const healthy = lb.cluster.describe().find((r) => r.name === name)?.state === 'healthy';
      return pid !== undefined && pid !== oldPid && healthy ? pid : undefined;
    });
  }

  it('replaces a replica killed with SIGKILL under the same name and number, and no request fails', async () => {
    const id = idOwnedBy('Server 2');
    const pid = provider().pidOf('Server 2')!;
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    // Requests for the dead replica's ids keep succeeding: the next replica clockwise takes them.
    const during = await Promise.all(
      Array.from({ length: 20 }, () => call(`${lb.url}/home`, { headers: { 'x-request-id': String(id) } })),
    );
    expect(during.map((reply) => reply.status)).toEqual(new Array(20).fill(200));
    const newPid = await replaced('Server 2', pid);
    console.log(`SIGKILL → Server 2 replaced and healthy in ${Date.now() - killedAt} ms`);
    expect(isAlive(pid)).toBe(false);
    expect(isAlive(newPid)).toBe(true);
    const reply = await call(`${lb.url}/home`, { headers: { 'x-request-id': String(id) } });
    expect(reply.body).toEqual({ message: 'Hello from Server: 2', status: 'successful' });
    expect((await call(`${lb.url}/rep`)).body.message).toEqual({
      N: 3,
      replicas: ['Server 1', 'Server 2', 'Server 3'],
    });
    expect(lb.cluster.replacements).toBe(1);
  });

  it('takes a hung replica (SIGSTOP) out by heartbeat and replaces it', async () => {
    const id = idOwnedBy('Server 3');
    const pid = provider().pidOf('Server 3')!;
    stopped.push(pid);
    const stoppedAt = Date.now();
    process.kill(pid, 'SIGSTOP');
    const detectedAt = await waitFor('Server 3 to leave the ring', () =>
      lb.cluster.table.ring.members.some((m) => m.name === 'Server 3') ? undefined : Date.now(),
    );
    // Default heartbeat: every 500 ms, 500 ms timeout, 2 failures.
    expect(detectedAt - stoppedAt).toBeLessThan(2_500);
    await replaced('Server 3', pid);
    console.log(
      `SIGSTOP → Server 3 out of the ring in ${detectedAt - stoppedAt} ms, replaced in ${Date.now() - stoppedAt} ms`,
    );
    await waitFor('the hung process to be killed', () => (isAlive(pid) ? undefined : true));
    const reply = await call(`${lb.url}/home`, { headers: { 'x-request-id': String(id) } });
    expect(reply.body).toEqual({ message: 'Hello from Server: 3', status: 'successful' });
  });

  it('replaces a replica the provider lost without any exit event (heartbeat or reconcile loop)', async () => {
    const pid = provider().pidOf('Server 2')!;
    // A stop through the provider itself raises no exit event: only reconciling can notice.
    await lb.provider.stop('Server 2');
    expect(isAlive(pid)).toBe(false);
    await waitFor(
      'the reconcile loop to replace Server 2',
      () => {
        const now = provider().pidOf('Server 2');
        const healthy = lb.cluster.describe().find((r) => r.name === 'Server 2')?.state === 'healthy';
        return now !== undefined && now !== pid && healthy ? true : undefined;
      },
      6_000,
    );
  });

  it('does not replace a replica that was removed on purpose', async () => {
    await call(`${lb.url}/rm`, { method: 'POST', json: { hostnames: ['Server 1'] } });
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(provider().pidOf('Server 1')).toBeUndefined();
    expect((await call(`${lb.url}/rep`)).body.message.replicas).toEqual(['Server 2', 'Server 3']);
  });
});
