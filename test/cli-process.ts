import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach } from 'vitest';
import { waitFor } from './helpers.js';
import { PROCESS_ENV } from '../src/cli/node-flags.js';
import { MAIN } from './main-path.js';

export { MAIN };
export const running: ChildProcess[] = [];

afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

export interface Started {
  child: ChildProcess;
  port: number;
  url: string;
  exited: Promise<number | null>;
}

/** Starts `ringlb start` as its own process and waits for its "listening" log line. */
export function startCli(...args: string[]): Promise<Started> {
  return startCliWith([], ...args);
}

/**
 * As startCli, with node flags; with NODE_FLAGS, in PROCESS_ENV too, to run as the `ringlb` bin
 * does.
 */
export async function startCliWith(nodeArgs: readonly string[], ...args: string[]): Promise<Started> {
  const child = spawn(
    process.execPath,
    [...nodeArgs, MAIN, 'start', '--host', '127.0.0.1', '--port', '0', '--workers', '1', ...args],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: nodeArgs.length > 0 ? { ...process.env, ...PROCESS_ENV } : process.env,
    },
  );
  running.push(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (const line of buffered.split('\n')) {
        if (line.includes('"ringlb listening"')) resolve(JSON.parse(line).port);
      }
    });
    child.once('exit', (code) => reject(new Error(`ringlb exited with ${code} before listening`)));
  });
  return { child, port, url: `http://127.0.0.1:${port}`, exited };
}

export function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text === '' ? [] : text.split(/\s+/).map(Number);
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `ringlb ...args` to its end (at most 20 s) without blocking this process's servers. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `ringlb start` as a child on a free loopback port, its JSON log lines kept. */
export async function startLogged(...args: string[]) {
  const child = spawn(
    process.execPath,
    [MAIN, 'start', '--host', '127.0.0.1', '--port', '0', '--workers', '1', '--log-format', 'json', ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  running.push(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines: Record<string, unknown>[] = [];
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const part of parts) if (part.startsWith('{')) lines.push(JSON.parse(part));
  });
  const port = await waitFor(
    'it',
    () => lines.find((l) => l.msg === 'ringlb listening')?.port as number | undefined,
    20_000,
  );
  /** SIGTERM, as a user's Ctrl-C: the balancer stops its replicas (and removes their containers). */
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    return exited;
  };
  return { child, lines, port, url: `http://127.0.0.1:${port}`, stop };
}
