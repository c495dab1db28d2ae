import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseHashKey } from '../proxy/hash-key.js';
import { MAGLEV_MAX_TABLE_SIZE } from '../ring/maglev/maglev-ring.js';
import {
  RING_ALGORITHMS,
  RING_DEFAULTS,
  ringCapacity,
  ringSettingsProblem,
  type RingSettings,
} from '../ring/registry.js';

/**
 * One validated schema for every setting, filled from (lowest to highest precedence) defaults, a JSON
 * config file, `RINGLB_*` environment variables and command-line flags.
 */
export const configSchema = z
  .strictObject({
    port: z.number().int().min(0).max(65535).default(5000),
    host: z.string().min(1).default('0.0.0.0'),
    replicas: z.number().int().min(0).max(1000).default(3),
    ringSize: z
      .number()
      .int()
      .min(1)
      .max(1 << 20)
      .default(512),
    vnodes: z.number().int().min(1).max(4096).default(9),
    heartbeatIntervalMs: z.number().int().min(50).max(60_000).default(500),
    heartbeatTimeoutMs: z.number().int().min(50).max(60_000).default(500),
    heartbeatThreshold: z.number().int().min(1).max(100).default(2),
    retries: z.number().int().min(0).max(10).default(2),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    ring: z.enum(RING_ALGORITHMS).default(RING_DEFAULTS.algorithm),
    ketamaPoints: z.number().int().min(1).max(10_000).default(RING_DEFAULTS.ketamaPoints),
    maglevTableSize: z
      .number()
      .int()
      .min(3)
      .max(MAGLEV_MAX_TABLE_SIZE)
      .default(RING_DEFAULTS.maglevTableSize),
    balanceFactor: z.number().default(RING_DEFAULTS.balanceFactor),
    hashKey: z
      .string()
      .default('request-id')
      .superRefine((spec, ctx) => {
        try {
          parseHashKey(spec);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
        }
      }),
  })
  .superRefine((c, ctx) => {
    const settings = ringSettingsOf(c);
    const problem = ringSettingsProblem(settings);
    if (problem) {
      const path = problem.includes('balance') ? 'balanceFactor' : 'maglevTableSize';
      ctx.addIssue({ code: 'custom', message: problem, path: [path] });
      return;
    }
    const capacity = ringCapacity(settings);
    if (c.replicas > capacity) {
      const message =
        c.ring === 'classic'
          ? 'replicas does not fit the ring: replicas × vnodes must be at most ringSize'
          : `replicas does not fit the ${c.ring} ring: it holds at most ${capacity}`;
      ctx.addIssue({ code: 'custom', message, path: ['replicas'] });
    }
  });

/** The ring part of the configuration, as the ring registry takes it. */
export function ringSettingsOf(config: {
  ring: RingSettings['algorithm'];
  ringSize: number;
  vnodes: number;
  ketamaPoints: number;
  maglevTableSize: number;
  balanceFactor: number;
}): RingSettings {
  const { ring, ringSize, vnodes, ketamaPoints, maglevTableSize, balanceFactor } = config;
  return { algorithm: ring, ringSize, vnodes, ketamaPoints, maglevTableSize, balanceFactor };
}

export type Config = z.output<typeof configSchema>;

interface Setting {
  readonly key: keyof Config;
  readonly flag: string;
  readonly env: string;
  readonly kind: 'int' | 'number' | 'string';
  readonly help: string;
}

export const SETTINGS: readonly Setting[] = [
  {
    key: 'port',
    flag: 'port',
    env: 'RINGLB_PORT',
    kind: 'int',
    help: 'port to listen on (default 5000; 0 = any free port)',
  },
  {
    key: 'host',
    flag: 'host',
    env: 'RINGLB_HOST',
    kind: 'string',
    help: 'address to listen on (default 0.0.0.0)',
  },
  {
    key: 'replicas',
    flag: 'replicas',
    env: 'RINGLB_REPLICAS',
    kind: 'int',
    help: 'replicas to start with (default 3)',
  },
  {
    key: 'ringSize',
    flag: 'ring-size',
    env: 'RINGLB_RING_SIZE',
    kind: 'int',
    help: 'slots on the ring (default 512)',
  },
  {
    key: 'vnodes',
    flag: 'vnodes',
    env: 'RINGLB_VNODES',
    kind: 'int',
    help: 'virtual nodes per replica (default 9)',
  },
  {
    key: 'heartbeatIntervalMs',
    flag: 'heartbeat-interval',
    env: 'RINGLB_HEARTBEAT_INTERVAL',
    kind: 'int',
    help: 'ms between heartbeats to each replica (default 500)',
  },
  {
    key: 'heartbeatTimeoutMs',
    flag: 'heartbeat-timeout',
    env: 'RINGLB_HEARTBEAT_TIMEOUT',
    kind: 'int',
    help: 'ms a heartbeat may take (default 500)',
  },
  {
    key: 'heartbeatThreshold',
    flag: 'heartbeat-threshold',
    env: 'RINGLB_HEARTBEAT_THRESHOLD',
    kind: 'int',
    help: 'failed heartbeats in a row that take a replica out (default 2)',
  },
  {
    key: 'retries',
    flag: 'retries',
    env: 'RINGLB_RETRIES',
    kind: 'int',
    help: 'further replicas an unreachable idempotent request is tried on (default 2)',
  },
  {
    key: 'logLevel',
    flag: 'log-level',
    env: 'RINGLB_LOG_LEVEL',
    kind: 'string',
    help: 'fatal … trace, or silent (default info)',
  },
  {
    key: 'ring',
    flag: 'ring',
    env: 'RINGLB_RING',
    kind: 'string',
    help: `ring algorithm: ${RING_ALGORITHMS.join(', ')} (default classic, the seed's)`,
  },
  {
    key: 'ketamaPoints',
    flag: 'ketama-points',
    env: 'RINGLB_KETAMA_POINTS',
    kind: 'int',
    help: 'ketama: points on the circle per replica of weight 1 (default 160)',
  },
  {
    key: 'maglevTableSize',
    flag: 'maglev-table-size',
    env: 'RINGLB_MAGLEV_TABLE_SIZE',
    kind: 'int',
    help: 'maglev: lookup table entries, a prime (default 65537)',
  },
  {
    key: 'balanceFactor',
    flag: 'balance-factor',
    env: 'RINGLB_BALANCE_FACTOR',
    kind: 'number',
    help: 'bounded loads: a replica takes at most this × the mean in-flight load, e.g. 1.25 (default 0 = off)',
  },
  {
    key: 'hashKey',
    flag: 'hash-key',
    env: 'RINGLB_HASH_KEY',
    kind: 'string',
    help: 'what picks the replica: request-id, header:<name>, cookie:<name>, ip, path, query:<param> (default request-id)',
  },
];

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function convert(setting: Setting, raw: string): unknown {
  if (setting.kind === 'string') return raw;
  const number = setting.kind === 'int' ? /^-?\d+$/ : /^-?\d+(\.\d+)?$/;
  return number.test(raw.trim()) ? Number(raw) : raw;
}

/** Reads `--name value` / `--name=value` flags; `--config FILE` names the config file. */
export function parseFlags(argv: readonly string[]): {
  values: Partial<Record<keyof Config, unknown>>;
  file?: string;
} {
  const values: Partial<Record<keyof Config, unknown>> = {};
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new ConfigError(`--${name} needs a value`);
    if (name === 'config') {
      file = value;
      continue;
    }
    const setting = SETTINGS.find((s) => s.flag === name);
    if (!setting) throw new ConfigError(`unknown option --${name} (see ringlb --help)`);
    values[setting.key] = convert(setting, value);
  }
  return file === undefined ? { values } : { values, file };
}

function fromEnv(env: NodeJS.ProcessEnv): Partial<Record<keyof Config, unknown>> {
  const values: Partial<Record<keyof Config, unknown>> = {};
  for (const setting of SETTINGS) {
    const raw = env[setting.env];
    if (raw !== undefined && raw !== '') values[setting.key] = convert(setting, raw);
  }
  return values;
}

function fromFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`config file ${path} is not a JSON object: ${(error as Error).message}`);
  }
}

export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Config {
  const flags = parseFlags(argv);
  const file = flags.file ?? env.RINGLB_CONFIG;
  const merged = { ...(file ? fromFile(file) : {}), ...fromEnv(env), ...flags.values };
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = issue.path.join('.');
      const setting = SETTINGS.find((s) => s.key === key);
      const where = setting ? `${key} (--${setting.flag}, ${setting.env})` : key || 'config';
      return `${where}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return parsed.data;
}
