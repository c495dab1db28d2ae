import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { call, waitFor } from './helpers.js';

const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const running: ChildProcess[] = [];

afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

interface Started {
  child: ChildProcess;
  url: string;
  /** Every stdout line so far. */
  lines: string[];
  exited: Promise<number | null>;
}

/** `ringlb start` as its own process, stdout a pipe (not a terminal), collected line by line. */
async function startCli(...args: string[]): Promise<Started> {
  const child = spawn(process.execPath, [MAIN, 'start', '--host', '127.0.0.1', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  running.push(child);
  const lines: string[] = [];
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const port = await waitFor('ringlb to listen', () => {
    const line = lines.find((l) => l.includes('ringlb listening'));
    return line === undefined ? undefined : Number(/port[=":]+(\d+)/.exec(line)![1]);
  });
  return { child, url: `http://127.0.0.1:${port}`, lines, exited };
}

const json = (lines: string[]) => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text === '' ? [] : text.split(/\s+/).map(Number);
}

describe('logs', () => {
  it('logs each proxied request with --access-log, and each state transition once with its reason', async () => {
    const lb = await startCli('--replicas', '2', '--access-log');
    for (let id = 0; id < 3; id++) {
      await call(`${lb.url}/home?x=${id}`, { headers: { 'x-request-id': String(id) } });
    }
    await call(`${lb.url}/metrics`);
    await call(`${lb.url}/rep`);
    const access = await waitFor('3 access lines', () => {
      const found = json(lb.lines).filter((entry) => entry.log === 'access');
      return found.length >= 3 ? found : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(json(lb.lines).filter((entry) => entry.log === 'access')).toHaveLength(3);
    // One line per request, but not in the order they were sent: the requests may be served by
    // different worker processes, and each writes its own lines.
    const paths = access.map((entry) => String(entry.path)).sort();
    expect(paths).toEqual(['/home?x=0', '/home?x=1', '/home?x=2']);
    access.forEach((entry) => {
      expect(entry).toMatchObject({ msg: 'request', method: 'GET', status: 200 });
      expect(entry.replica).toMatch(/^Server [12]$/);
      expect(entry.ms).toBeGreaterThan(0);
    });

    // A replica's pid from the balancer itself: its children are its worker processes too, forked
    // while the replicas start, so their order says nothing.
    const details = (
      (await call(`${lb.url}/rep?verbose=1`)).body as { message: { details: { pid: number }[] } }
    ).message.details;
    const pid = details[0]!.pid;
    expect(childrenOf(lb.child.pid!)).toContain(pid);
    process.kill(pid, 'SIGKILL');
    await waitFor('it to be back in the ring', () =>
      json(lb.lines).some((e) => e.msg === 'ring changed' && String(e.reason).endsWith(' replaced'))
        ? true
        : undefined,
    );
    const downs = json(lb.lines).filter((e) => e.msg === 'replica state changed' && e.to === 'down');
    expect(downs).toHaveLength(1);
    expect(downs[0]).toMatchObject({ level: 40, from: 'healthy', reason: 'process: killed by SIGKILL' });
    const replica = downs[0]!.replica;
    const ofReplica = json(lb.lines)
      .filter((e) => e.msg === 'replica state changed' && e.replica === replica)
      .map((e) => `${e.from}→${e.to}`);
    expect(ofReplica).toEqual([
      'null→starting',
      'starting→healthy',
      'healthy→down',
      'down→starting',
      'starting→healthy',
    ]);
    expect(
      json(lb.lines)
        .filter((e) => e.msg === 'ring changed')
        .map((e) => e.reason),
    ).toEqual(['replicas added', `${replica} down`, `${replica} replaced`]);
    lb.child.kill('SIGTERM');
    expect(await lb.exited).toBe(0);
  });

  it('logs nothing per request without --access-log', async () => {
    const lb = await startCli('--replicas', '1');
    const before = lb.lines.length;
    for (let i = 0; i < 20; i++) expect((await call(`${lb.url}/home`)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(lb.lines.slice(before)).toEqual([]);
  });

  it('writes readable lines with --log-format pretty', async () => {
    const lb = await startCli('--replicas', '1', '--log-format', 'pretty');
    expect(lb.lines[0]).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} WARN  the control API \(\/add, \/rm\) is open to anyone/,
    );
    expect(lb.lines.find((l) => l.includes('replica state changed'))).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} INFO  replica state changed {2}replica="Server 1" from=null to=starting reason=added$/,
    );
    expect(lb.lines.find((l) => l.includes('ringlb listening'))).toMatch(
      / INFO  ringlb listening {2}host=127\.0\.0\.1 port=\d+/,
    );
  });
});
