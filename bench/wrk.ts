import { startGroup } from './lib/processes.js';

export interface WrkResult {
  readonly requests: number;
  readonly durationUs: number;
  /** Bytes wrk read (responses, heads included); 0 from a script that does not report it. */
  readonly bytes: number;
  /** Latency percentiles in µs. */
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly connectErrors: number;
  readonly readErrors: number;
  readonly writeErrors: number;
  /** Responses that were not 2xx/3xx. */
  readonly statusErrors: number;
  readonly timeouts: number;
}

/** The `RESULT {...}` line our wrk script prints, or an error quoting wrk's output. */
export function parseWrkOutput(output: string): WrkResult {
  const line = output.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`wrk printed no RESULT line:\n${output.slice(-2000)}`);
  const parsed = JSON.parse(line.slice('RESULT '.length)) as Record<string, unknown>;
  const keys = [
    'requests',
    'durationUs',
    'p50',
    'p99',
    'p999',
    'max',
    'connectErrors',
    'readErrors',
    'writeErrors',
    'statusErrors',
    'timeouts',
  ] as const;
  for (const key of keys) {
    if (typeof parsed[key] !== 'number') throw new Error(`wrk RESULT line lacks "${key}": ${line}`);
  }
  return { bytes: 0, ...parsed } as unknown as WrkResult;
}

export interface WrkRun {
  readonly url: string;
  readonly script: string;
  readonly seconds: number;
  readonly connections: number;
  readonly cpus: string;
}

/** One wrk run (-t1), pinned; bounded by its own duration plus a margin after which it is killed. */
export async function runWrk(run: WrkRun): Promise<WrkResult> {
  const args = [
    '-t1',
    `-c${run.connections}`,
    `-d${run.seconds}s`,
    '--timeout',
    '5s',
    '-s',
    run.script,
    run.url,
  ];
  const wrk = startGroup('wrk', 'wrk', args, { cpus: run.cpus });
  const limit = setTimeout(
    () => {
      try {
        process.kill(-wrk.pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    },
    (run.seconds + 15) * 1000,
  );
  const code = await wrk.exited;
  clearTimeout(limit);
  if (code !== '0') throw new Error(`wrk exited with ${code}:\n${wrk.output().slice(-2000)}`);
  return parseWrkOutput(wrk.output());
}
