import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

/**
 * Every process the harnesses start runs in its own process group, so stopping the group also stops
 * whatever it forked (nginx workers, ringlb's replicas and workers). The groups are remembered here and
 * stopped at the end, on SIGINT/SIGTERM, and (with SIGKILL) on any exit.
 */
export interface Started {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** The last 64 KiB of stdout and stderr, for error messages. */
  output(): string;
  /** Resolves with the exit code (or signal name) when the process exits. */
  readonly exited: Promise<string>;
}

const OUTPUT_LIMIT = 64 * 1024;
const groups = new Map<number, Started>();
const interruptCleanups: (() => void)[] = [];
let handlersInstalled = false;

/** Runs `cleanup` (synchronously) after the process groups are stopped on SIGINT/SIGTERM. */
export function onInterrupt(cleanup: () => void): void {
  interruptCleanups.push(cleanup);
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const pid of groups.keys()) signalGroup(pid, 'SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      process.stderr.write(`\n${signal}: stopping ${groups.size} process group(s)\n`);
      void stopAll().finally(() => {
        for (const cleanup of interruptCleanups) cleanup();
        process.exit(130);
      });
    });
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone already
  }
}

export interface StartOptions {
  /** CPU list for taskset (e.g. "0"); the process runs unpinned when omitted. */
  readonly cpus?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Called with every complete line of standard output. */
  readonly onLine?: (line: string) => void;
}

export function startGroup(
  name: string,
  command: string,
  args: readonly string[],
  options: StartOptions = {},
): Started {
  installHandlers();
  const [file, argv] =
    options.cpus === undefined ? [command, args] : ['taskset', ['-c', options.cpus, command, ...args]];
  const child = spawn(file, argv, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: options.env ?? process.env,
    cwd: options.cwd,
  });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  const pid = child.pid;
  let output = '';
  let partial = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    keep(chunk);
    if (!options.onLine) return;
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) options.onLine(line);
  });
  child.stderr!.on('data', keep);
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      groups.delete(pid);
      resolve(signal ?? String(code));
    });
    child.once('error', (error) => {
      groups.delete(pid);
      keep(Buffer.from(`\n${error.message}\n`));
      resolve('error');
    });
  });
  const started: Started = { name, pid, child, output: () => output, exited };
  groups.set(pid, started);
  return started;
}

/**
 * SIGTERM to the group's leader (which stops its own children, as it would under a service manager),
 * SIGKILL to the whole group after `graceMs`. Resolves once the leader has exited, with whether any
 * process of its group was still there 1 s later (then they are killed too).
 */
export async function stopGroup(started: Started, graceMs = 3000): Promise<boolean> {
  if (!groups.has(started.pid)) return false;
  signalGroup(started.pid, 'SIGCONT'); // a stopped process cannot act on SIGTERM
  try {
    process.kill(started.pid, 'SIGTERM');
  } catch {
    // exited meanwhile
  }
  const timer = setTimeout(() => signalGroup(started.pid, 'SIGKILL'), graceMs);
  await started.exited;
  clearTimeout(timer);
  const deadline = Date.now() + 1000;
  while (groupExists(started.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const leftovers = groupExists(started.pid);
  signalGroup(started.pid, 'SIGKILL');
  return leftovers;
}

function groupExists(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function stopAll(): Promise<void> {
  await Promise.all([...groups.values()].map((started) => stopGroup(started)));
}

/** Direct and indirect children of `pid`, from /proc (every thread's children file). */
export function descendants(pid: number): number[] {
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0 && found.length < 10_000) {
    const parent = queue.shift()!;
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${parent}/task`);
    } catch {
      continue;
    }
    for (const task of tasks) {
      let text = '';
      try {
        text = readFileSync(`/proc/${parent}/task/${task}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const child of text.split(' ')) {
        const number = Number(child);
        if (child.trim() !== '' && Number.isInteger(number)) {
          found.push(number);
          queue.push(number);
        }
      }
    }
  }
  return found;
}

/** utime + stime of one process in clock ticks (100 per second on Linux), 0 when it is gone. */
export function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may itself contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** Resident set size in bytes, 0 when the process is gone. */
export function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export function environOf(pid: number): Map<string, string> {
  const env = new Map<string, string>();
  try {
    for (const entry of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
      const eq = entry.indexOf('=');
      if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
    }
  } catch {
    // gone
  }
  return env;
}

/** The state letter of /proc/PID/stat (R, S, T for stopped, Z for zombie…), undefined when gone. */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2);
  } catch {
    return undefined;
  }
}

/** Whether the process exists and is not a zombie. */
export function isRunning(pid: number): boolean {
  const state = processState(pid);
  return state !== undefined && state !== 'Z';
}
