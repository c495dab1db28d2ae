import { parseArgs } from 'node:util';
import { parseWorkloads, type Workload } from './lib/workloads.js';

export type BackendKind = 'node' | 'nginx';

export interface ProxyBenchOptions {
  readonly rounds: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly connections: number;
  readonly backends: BackendKind[];
  readonly workloads: Workload[];
  /** Profile ringlb with `node --cpu-prof` (a fresh ringlb per workload, so each profile is one workload). */
  readonly cpuProf: boolean;
  readonly quick: boolean;
}

export const PROXY_BENCH_USAGE =
  'npm run bench:proxy [-- --quick] [--rounds N] [--seconds S] [--warmup S] [--connections N]\n' +
  '                    [--backends nginx,node] [--workloads get,post1k,mix,upload1m,download1m|all] [--cpu-prof]';

/** The benchmark's command line; a bad value throws an Error naming the option and what it takes. */
export function parseProxyBenchOptions(argv: readonly string[]): ProxyBenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      backends: { type: 'string' },
      workloads: { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const whole = (name: string, raw: string | undefined, fallback: number, min: number) => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min)
      throw new Error(`--${name} takes a whole number ≥ ${min}, not "${raw}"`);
    return value;
  };
  const quick = values.quick ?? false;
  const backends = (values.backends ?? (quick ? 'nginx' : 'nginx,node')).split(',').map((b) => b.trim());
  for (const backend of backends) {
    if (backend !== 'node' && backend !== 'nginx')
      throw new Error(`--backends takes nginx and/or node, not "${backend}"`);
  }
  return {
    quick,
    rounds: whole('rounds', values.rounds, quick ? 1 : 3, 1),
    seconds: whole('seconds', values.seconds, quick ? 1 : 5, 1),
    warmupSeconds: whole('warmup', values.warmup, 1, 0),
    connections: whole('connections', values.connections, 64, 1),
    backends: [...new Set(backends)] as BackendKind[],
    workloads: parseWorkloads(values.workloads ?? 'all'),
    cpuProf: values['cpu-prof'] ?? false,
  };
}
