import { readFileSync, rmSync } from 'node:fs';
import { quantile } from './lib/stats.js';
import { startGroup } from './lib/processes.js';

export interface H2loadResult {
  readonly reqPerSec: number;
  readonly succeeded: number;
  /** Requests that failed, errored or timed out, plus responses that were not 2xx. */
  readonly errors: number;
  /** Per-request latency percentiles in µs, from h2load's --log-file. */
  readonly p50: number;
  readonly p99: number;
}

export interface H2loadRun {
  /** One or more URIs: h2load spreads requests over them, so a hashing proxy uses every backend. */
  readonly urls: readonly string[];
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly connections: number;
  /** Concurrent streams per connection (-m). */
  readonly streams: number;
  readonly cpus: string;
  /** Where the per-request log goes (read, then removed). */
  readonly logFile: string;
  /** A request body (-d FILE): h2load then sends POSTs. */
  readonly dataFile?: string;
  readonly headers?: readonly string[];
}

/** The summary lines h2load prints; an Error quoting its output when they are missing. */
export function parseH2loadOutput(output: string): Omit<H2loadResult, 'p50' | 'p99'> {
  const finished = /finished in [\d.]+s, ([\d.]+) req\/s/.exec(output);
  const requests =
    /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(
      output,
    );
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(output);
  if (!finished || !requests || !codes) throw new Error(`h2load printed no summary:\n${output.slice(-2000)}`);
  const n = (text: string | undefined) => Number(text ?? 0);
  return {
    reqPerSec: n(finished[1]),
    succeeded: n(requests[1]),
    errors: n(requests[2]) + n(requests[3]) + n(requests[4]) + n(codes[2]) + n(codes[3]) + n(codes[4]),
  };
}

/** Latency percentiles (µs) from h2load's per-request log (start µs, status, µs to the response's end). */
export function latencyFromLog(text: string): { p50: number; p99: number } {
  const micros: number[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split('\t');
    if (fields.length >= 3) micros.push(Number(fields[2]));
  }
  return { p50: quantile(micros, 0.5), p99: quantile(micros, 0.99) };
}

/** One h2load run, pinned; killed if it outlives its duration by 20 s. */
export async function runH2load(run: H2loadRun): Promise<H2loadResult> {
  const args = [
    '-t1',
    `-c${run.connections}`,
    `-m${run.streams}`,
    `-D${run.seconds}`,
    `--warm-up-time=${run.warmupSeconds}`,
    `--log-file=${run.logFile}`,
    ...(run.dataFile ? ['-d', run.dataFile] : []),
    ...(run.headers ?? []).flatMap((header) => ['-H', header]),
    ...run.urls,
  ];
  const h2load = startGroup('h2load', 'h2load', args, { cpus: run.cpus });
  const limit = setTimeout(
    () => {
      try {
        process.kill(-h2load.pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    },
    (run.seconds + run.warmupSeconds + 20) * 1000,
  );
  const code = await h2load.exited;
  clearTimeout(limit);
  if (code !== '0') throw new Error(`h2load exited with ${code}:\n${h2load.output().slice(-2000)}`);
  const summary = parseH2loadOutput(h2load.output());
  if (summary.errors > 0) {
    const lines = h2load.output().split('\n');
    console.log(
      `h2load saw errors:\n${lines.filter((l) => /requests:|status codes|error|fail/i.test(l)).join('\n')}`,
    );
  }
  let latency = { p50: NaN, p99: NaN };
  try {
    latency = latencyFromLog(readFileSync(run.logFile, 'utf8'));
  } finally {
    rmSync(run.logFile, { force: true });
  }
  return { ...summary, ...latency };
}
