import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach } from 'vitest';
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
export async function startCli(...args: string[]): Promise<Started> {
  const child = spawn(
    process.execPath,
    [MAIN, 'start', '--host', '127.0.0.1', '--port', '0', '--workers', '1', ...args],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
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
