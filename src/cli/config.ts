import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { classicCapacity } from '../ring/classic/classic-ring.js';

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
    logFormat: z.enum(['auto', 'json', 'pretty']).default('auto'),
    accessLog: z.boolean().default(false),
    metrics: z.boolean().default(true),
  })
  .refine((c) => c.replicas <= classicCapacity(c), {
    error: 'replicas does not fit the ring: replicas × vnodes must be at most ringSize',
    path: ['replicas'],
  });

export type Config = z.output<typeof configSchema>;

interface Setting {
  readonly key: keyof Config;
  readonly flag: string;
  readonly env: string;
  readonly kind: 'int' | 'string' | 'bool';
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
    key: 'logFormat',
    flag: 'log-format',
    env: 'RINGLB_LOG_FORMAT',
    kind: 'string',
    help: 'json, pretty, or auto = pretty when stdout is a terminal (default auto)',
  },
  {
    key: 'accessLog',
    flag: 'access-log',
    env: 'RINGLB_ACCESS_LOG',
    kind: 'bool',
    help: 'log one line per proxied request (default false; a bare flag means true)',
  },
  {
    key: 'metrics',
    flag: 'metrics',
    env: 'RINGLB_METRICS',
    kind: 'bool',
    help: 'count requests and serve GET /metrics (default true)',
  },
];

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function convert(setting: Setting, raw: string): unknown {
  if (setting.kind === 'string') return raw;
  if (setting.kind === 'bool') {
    const value = raw.trim().toLowerCase();
    return value === 'true' || value === '1' ? true : value === 'false' || value === '0' ? false : raw;
  }
  return /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
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
    // A yes/no setting takes an optional true/false/1/0; a bare flag (`--access-log`) means yes.
    const bare =
      eq < 0 &&
      SETTINGS.find((s) => s.flag === name)?.kind === 'bool' &&
      !/^(true|false|1|0)$/i.test(argv[i + 1] ?? '');
    const value = bare ? 'true' : eq < 0 ? argv[++i] : arg.slice(eq + 1);
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
