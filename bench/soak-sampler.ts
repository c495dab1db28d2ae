// Once a second: RSS and open fds of every ringlb process (from /proc), heap used and event-loop
// delay (from bench/soak-probe.ts in each of them), and the replicas by state (GET /metrics).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rssBytes } from './lib/processes.js';

export interface ProcessSample {
  readonly pid: number;
  readonly role: string;
  readonly rssMb: number;
  readonly fds: number;
  readonly heapMb: number | undefined;
  /** Heap used right after the process's last major GC (undefined before its first). */
  readonly heapAfterGcMb: number | undefined;
  readonly delayP99Ms: number | undefined;
}

export interface Sample {
  /** ms since the start of the load (negative before it). */
  readonly t: number;
  readonly at: number;
  readonly processes: ProcessSample[];
  readonly rssMb: number;
  readonly fds: number;
  /** Replicas by state, summed over the instances that answered. */
  readonly states: Record<string, number>;
}

export function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

/** Processes whose environment carries `mark` (NAME=value) and whose command line has `needle`. */
export function markedProcesses(mark: string, needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(mark)) continue;
      const state = readFileSync(`/proc/${entry}/stat`, 'latin1');
      if (state.charAt(state.lastIndexOf(')') + 2) === 'Z') continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'latin1').includes(needle)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Parses `ringlb_replicas{state="…"} N` lines of a Prometheus scrape. */
export function replicaStates(metrics: string): Record<string, number> {
  const states: Record<string, number> = {};
  for (const match of metrics.matchAll(/^ringlb_replicas\{state="([a-z]+)"\} (\d+)/gm))
    states[match[1]!] = Number(match[2]);
  return states;
}

function probe(
  dir: string,
  pid: number,
): { heapUsed: number; heapAfterGc?: number; delayP99Ms: number } | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, `${pid}.json`), 'utf8')) as {
      heapUsed: number;
      heapAfterGc?: number;
      delayP99Ms: number;
    };
  } catch {
    return undefined;
  }
}

export function sampleProcesses(
  pids: readonly number[],
  roleOf: (pid: number) => string,
  probeDir: string,
): ProcessSample[] {
  return pids.map((pid) => {
    const probed = probe(probeDir, pid);
    return {
      pid,
      role: roleOf(pid),
      rssMb: rssBytes(pid) / 2 ** 20,
      fds: openFds(pid),
      heapMb: probed ? probed.heapUsed / 2 ** 20 : undefined,
      heapAfterGcMb: probed?.heapAfterGc === undefined ? undefined : probed.heapAfterGc / 2 ** 20,
      delayP99Ms: probed?.delayP99Ms,
    };
  });
}
