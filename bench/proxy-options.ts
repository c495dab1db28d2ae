import { parseArgs } from 'node:util';
import { parseWorkloads, type Workload } from './lib/workloads.js';

export type BackendKind = 'node' | 'nginx';

/** A way of starting ringlb that the benchmark measures as a row of its own. */
export interface RinglbVariant {
  readonly name: string;
  readonly args: readonly string[];
}

/**
 * The ringlb rows `--variants` picks from: its defaults, what a user coming from nginx picks, and the
 * defaults without hot keys (issue 17 compares GET with hot keys on against off in one run).
 */
export const RINGLB_VARIANTS = {
  defaults: { name: 'ringlb defaults', args: [] },
  'ketama-uri': {
    name: 'ringlb --ring ketama --hash-key uri',
    args: ['--ring', 'ketama', '--hash-key', 'uri'],
  },
  'hot-keys-off': { name: 'ringlb --hot-keys false', args: ['--hot-keys', 'false'] },
} as const satisfies Record<string, RinglbVariant>;
export type VariantName = keyof typeof RINGLB_VARIANTS;
const VARIANT_NAMES = Object.keys(RINGLB_VARIANTS) as VariantName[];
const DEFAULT_VARIANTS = 'defaults,ketama-uri';

export interface ProxyBenchOptions {
  readonly rounds: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly connections: number;
  readonly backends: BackendKind[];
  readonly workloads: Workload[];
  readonly variants: RinglbVariant[];
  /** Profile ringlb with `node --cpu-prof` (a fresh ringlb per workload, so each profile is one workload). */
  readonly cpuProf: boolean;
  readonly quick: boolean;
}

export const PROXY_BENCH_USAGE =
  'npm run bench:proxy [-- --quick] [--rounds N] [--seconds S] [--warmup S] [--connections N]\n' +
  '                    [--backends nginx,node] [--workloads get,post1k,mix,upload1m,download1m|all]\n' +
  `                    [--variants ${VARIANT_NAMES.join(',')}|all (default ${DEFAULT_VARIANTS})] [--cpu-prof]`;

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
      variants: { type: 'string' },
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
  const variantText = values.variants ?? DEFAULT_VARIANTS;
  const variants = variantText.trim() === 'all' ? VARIANT_NAMES : variantText.split(',').map((v) => v.trim());
  for (const variant of variants) {
    if (!(VARIANT_NAMES as string[]).includes(variant))
      throw new Error(`--variants takes ${VARIANT_NAMES.join(', ')} or all, not "${variant}"`);
  }
  return {
    quick,
    rounds: whole('rounds', values.rounds, quick ? 1 : 3, 1),
    seconds: whole('seconds', values.seconds, quick ? 1 : 5, 1),
    warmupSeconds: whole('warmup', values.warmup, 1, 0),
    connections: whole('connections', values.connections, 64, 1),
    backends: [...new Set(backends)] as BackendKind[],
    workloads: parseWorkloads(values.workloads ?? 'all'),
    variants: [...new Set(variants as VariantName[])].map((name) => RINGLB_VARIANTS[name]),
    cpuProf: values['cpu-prof'] ?? false,
  };
}
