import { readdirSync, readlinkSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ClassicRing } from '../src/ring/classic/classic-ring.js';
import { childrenOf, startCli } from './cli-process.js';
import { call, isAlive, waitFor } from './helpers.js';
import { parseMetrics } from './prometheus-text.js';

/** The balancer's worker processes among the children of its primary (the rest are replicas). */
function workersOf(primary: number): number[] {
  return childrenOf(primary).filter((pid) => {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    // A replica is named by its entry file until it sets its process title, then by that title.
    return !cmdline.includes('replica/entry') && !cmdline.startsWith('ringlb replica');
  });
}

/** The inodes of a process's open sockets. */
function socketsOf(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (link.startsWith('socket:')) inodes.add(link);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/** A request on a connection of its own, so that successive calls land on different workers. */
async function fresh(url: string, id: number): Promise<string> {
  const response = await fetch(url, { headers: { 'x-request-id': String(id), connection: 'close' } });
  return ((await response.json()) as { message: string }).message;
}

describe('--workers 2', () => {
  it('routes a key to the same replica from every worker, before and after a change made through any of them', async () => {
    const lb = await startCli('--workers', '2', '--replicas', '3');
    try {
      const processes = childrenOf(lb.child.pid!);
      // The primary proxies too: 1 worker and 3 replicas, all children of the primary.
      expect(processes).toHaveLength(4);
      expect(workersOf(lb.child.pid!)).toHaveLength(1);
      for (const id of [5, 250, 4242]) {
        const answers = await Promise.all(Array.from({ length: 12 }, () => fresh(`${lb.url}/home`, id)));
        expect(new Set(answers).size).toBe(1);
        expect(answers[0]).toMatch(/^Hello from Server: [123]$/);
      }
      const added = await call(`${lb.url}/add`, { method: 'POST', json: { hostnames: ['W4'] } });
      expect(added.body.message.replicas).toEqual(['Server 1', 'Server 2', 'Server 3', 'W4']);
      const ring = new ClassicRing([1, 2, 3, 4].map((number) => ({ number, name: `r${number}` })));
      const id = [...Array(100_000).keys()].find((k) => ring.members[ring.pick(k)]!.number === 4)!;
      await waitFor('every worker to route to W4', async () => {
        const answers = await Promise.all(Array.from({ length: 8 }, () => fresh(`${lb.url}/home`, id)));
        return answers.every((answer) => answer === 'Hello from Server: 4') ? true : undefined;
      });
    } finally {
      lb.child.kill('SIGTERM');
      expect(await lb.exited).toBe(0);
    }
  });

  it('replaces a worker that dies, keeps serving, and leaves nothing behind', async () => {
    const lb = await startCli('--workers', '2', '--replicas', '1');
    const before = childrenOf(lb.child.pid!);
    const workers = workersOf(lb.child.pid!);
    expect(workers).toHaveLength(1);
    process.kill(workers[0]!, 'SIGKILL');
    await waitFor('a new worker', () => {
      const now = childrenOf(lb.child.pid!);
      return now.length === before.length && !now.includes(workers[0]!) ? true : undefined;
    });
    const answers = await Promise.all(Array.from({ length: 6 }, () => fresh(`${lb.url}/home`, 1)));
    expect(answers).toEqual(new Array(6).fill('Hello from Server: 1'));
    const all = childrenOf(lb.child.pid!);
    lb.child.kill('SIGTERM');
    expect(await lb.exited).toBe(0);
    for (const pid of all) expect(isAlive(pid)).toBe(false);
  });

  it('deals client connections out in turn: the primary serves every other one, the worker the rest', async () => {
    const lb = await startCli('--workers', '2', '--replicas', '1');
    const held: Socket[] = [];
    try {
      const primary = lb.child.pid!;
      const [worker] = workersOf(primary);
      const before = [socketsOf(primary), socketsOf(worker!)];
      const port = Number(new URL(lb.url).port);
      // Idle keep-alive connections, each answered once, held open while their owners are counted.
      for (let i = 0; i < 10; i++) {
        const socket = connect(port, '127.0.0.1');
        held.push(socket);
        await new Promise<void>((resolve, reject) => {
          socket.once('error', reject);
          socket.once('data', () => resolve());
          socket.write(`GET /home HTTP/1.1\r\nhost: lb\r\nx-request-id: ${i}\r\n\r\n`);
        });
      }
      const gained = [primary, worker!].map(
        (pid, k) => [...socketsOf(pid)].filter((inode) => !before[k]!.has(inode)).length,
      );
      // Each client connection is in one process only (its upstream connection too, at most one).
      expect(gained[0]! + gained[1]!).toBeLessThanOrEqual(20);
      expect(gained[0]).toBeGreaterThanOrEqual(5);
      expect(gained[1]).toBeGreaterThanOrEqual(5);
    } finally {
      for (const socket of held) socket.destroy();
      lb.child.kill('SIGTERM');
      expect(await lb.exited).toBe(0);
    }
  });

  it('holds every process to --max-connections for the connections it is dealt', async () => {
    const lb = await startCli('--workers', '2', '--replicas', '1', '--max-connections', '2');
    const held: Socket[] = [];
    try {
      const port = Number(new URL(lb.url).port);
      const closed = new Set<Socket>();
      // Six idle connections, one after the other: three for each process, which keeps two.
      for (let i = 0; i < 6; i++) {
        const socket = connect(port, '127.0.0.1');
        held.push(socket);
        socket.on('close', () => closed.add(socket));
        socket.on('error', () => undefined);
        await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      }
      await waitFor('the connections over the cap to be closed', () => (closed.size >= 2 ? true : undefined));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(closed.size).toBe(2);
    } finally {
      for (const socket of held) socket.destroy();
      lb.child.kill('SIGTERM');
      expect(await lb.exited).toBe(0);
    }
  });

  it('counts every request in /metrics whichever worker proxied it', async () => {
    const lb = await startCli('--workers', '2', '--replicas', '2');
    try {
      const total = (text: string) =>
        [...parseMetrics(text)]
          .filter(([key]) => key.startsWith('ringlb_requests_total{'))
          .reduce((sum, [, v]) => sum + v, 0);
      const before = total((await call(`${lb.url}/metrics`)).body as string);
      // Fresh connections spread over both workers.
      await Promise.all(Array.from({ length: 40 }, (_, k) => fresh(`${lb.url}/home`, k)));
      await waitFor('the workers to report', async () => {
        const after = total((await call(`${lb.url}/metrics`)).body as string);
        return after - before === 40 ? true : undefined;
      });
      const lines = ((await call(`${lb.url}/metrics`)).body as string).split('\n');
      expect(lines.some((line) => line.startsWith('ringlb_replicas{state="healthy"} 2'))).toBe(true);
    } finally {
      lb.child.kill('SIGTERM');
      expect(await lb.exited).toBe(0);
    }
  });
});
