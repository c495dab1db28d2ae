import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
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
    /** Default: 3, or every backend of the static provider. */
    replicas: z.number().int().min(0).max(1000).optional(),
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
    heartbeatRise: z.number().int().min(1).max(100).default(2),
    outlierFailures: z.number().int().min(1).max(1000).default(5),
    maxEjectionPercent: z.number().int().min(0).max(100).default(50),
    drainTimeoutMs: z.number().int().min(0).max(600_000).default(10_000),
    headersTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
    keepAliveTimeoutMs: z.number().int().min(100).max(3_600_000).default(5_000),
    maxConnections: z.number().int().min(0).max(1_000_000).default(10_000),
    maxHeaderSize: z
      .number()
      .int()
      .min(1024)
      .max(1024 * 1024)
      .default(16 * 1024),
    maxBodySize: z.number().int().min(0).default(0),
    trustForwarded: z.boolean().default(false),
    adminToken: z.string().min(16, { error: 'must be at least 16 characters' }).optional(),
    adminTokenFile: z.string().optional(),
    adminListen: z
      .string()
      .regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, { error: 'must be HOST:PORT, e.g. 127.0.0.1:9000' })
      .optional(),
    workers: z.number().int().min(1).max(64).default(Math.min(64, availableParallelism())),
    backends: z
      .array(z.url({ protocol: /^(http|h2c)$/, error: 'each backend must be an http:// or h2c:// URL' }))
      .default([]),
    healthPath: z
      .string()
      .regex(/^\/[^\s?#]*$/, { error: 'must be a path starting with /' })
      .default('/heartbeat'),
    upstreamTimeoutMs: z.number().int().min(100).max(3_600_000).default(30_000),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    provider: z.enum(['process', 'docker', 'static']).default('process'),
    membership: z.enum(['local', 'etcd']).default('local'),
    etcdEndpoints: z
      .array(z.url({ protocol: /^https?$/, error: 'each etcd endpoint must be an http:// URL' }))
      .default([]),
    etcdLeaseTtl: z.number().int().min(2).max(60).default(3),
    dockerSocket: z.string().min(1).default('/var/run/docker.sock'),
    dockerImage: z.string().min(1).default('ringlb:latest'),
    dockerNetwork: z
      .string()
      .regex(/^([a-zA-Z0-9][a-zA-Z0-9_.-]*)?$/, { error: 'a Docker network name, or empty to publish ports' })
      .default(''),
    dockerPublishHost: z.string().min(1).default('127.0.0.1'),
    dockerOnExit: z.enum(['remove', 'keep']).default('remove'),
    clusterName: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_.-]{0,30}$/, {
        error: '1 to 31 lowercase letters, digits, ".", "_" or "-", starting with a letter or digit',
      })
      .default('ringlb'),
    logFormat: z.enum(['auto', 'json', 'pretty']).default('auto'),
    accessLog: z.boolean().default(false),
    metrics: z.boolean().default(true),
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
    tlsCert: z.string().min(1).optional(),
    tlsKey: z.string().min(1).optional(),
    tlsMinVersion: z
      .enum(['TLSv1.2', 'TLSv1.3', '1.2', '1.3'])
      .default('TLSv1.2')
      .transform((v) => (v.startsWith('TLS') ? v : `TLSv${v}`) as 'TLSv1.2' | 'TLSv1.3'),
    httpRedirectPort: z.number().int().min(0).max(65535).optional(),
    http2: z.boolean().default(true),
    h2c: z.boolean().default(false),
    wsIdleTimeoutMs: z.number().int().min(0).max(86_400_000).default(0),
    upstreamProtocol: z.enum(['http1', 'h2c']).default('http1'),
  })
  .transform((c) => ({ ...c, replicas: c.replicas ?? (c.provider === 'static' ? c.backends.length : 3) }))
  .transform((c, ctx) => {
    if (c.adminTokenFile === undefined || c.adminToken !== undefined) return c;
    try {
      const token = readFileSync(c.adminTokenFile, 'utf8').trim();
      if (token.length < 16) throw new Error('the token in it must be at least 16 characters');
      return { ...c, adminToken: token };
    } catch (error) {
      ctx.addIssue({ code: 'custom', path: ['adminTokenFile'], message: (error as Error).message });
      return z.NEVER;
    }
  })
  .refine((c) => c.membership !== 'etcd' || c.etcdEndpoints.length > 0, {
    error: '--membership etcd needs --etcd-endpoints URL,URL,...',
    path: ['etcdEndpoints'],
  })
  .refine((c) => c.membership !== 'etcd' || c.provider !== 'docker', {
    error: '--membership etcd works with --provider process or static',
    path: ['membership'],
  })
  .refine((c) => c.provider !== 'static' || c.backends.length > 0, {
    error: 'the static provider needs --backends URL,URL,...',
    path: ['backends'],
  })
  .refine((c) => c.provider !== 'static' || c.replicas <= c.backends.length, {
    error: 'more replicas than static backends',
    path: ['replicas'],
  })
  .refine((c) => (c.tlsCert === undefined) === (c.tlsKey === undefined), {
    error: 'TLS needs both --tls-cert and --tls-key',
    path: ['tlsCert'],
  })
  .refine((c) => c.httpRedirectPort === undefined || c.tlsCert !== undefined, {
    error: 'redirecting to https needs --tls-cert and --tls-key',
    path: ['httpRedirectPort'],
  })
  .refine((c) => !(c.h2c && c.tlsCert !== undefined), {
    error: 'h2c is cleartext HTTP/2: with TLS, HTTP/2 is offered by ALPN (--http2)',
    path: ['h2c'],
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
  readonly kind: 'int' | 'number' | 'string' | 'list' | 'bool';
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
    key: 'heartbeatRise',
    flag: 'heartbeat-rise',
    env: 'RINGLB_HEARTBEAT_RISE',
    kind: 'int',
    help: 'good heartbeats in a row that bring an ejected replica back (default 2)',
  },
  {
    key: 'outlierFailures',
    flag: 'outlier-failures',
    env: 'RINGLB_OUTLIER_FAILURES',
    kind: 'int',
    help: 'failed requests in a row (connection errors, 5xx) that eject a replica (default 5)',
  },
  {
    key: 'maxEjectionPercent',
    flag: 'max-ejection-percent',
    env: 'RINGLB_MAX_EJECTION_PERCENT',
    kind: 'int',
    help: 'most replicas, in percent, that passive health may eject at once (default 50)',
  },
  {
    key: 'drainTimeoutMs',
    flag: 'drain-timeout',
    env: 'RINGLB_DRAIN_TIMEOUT',
    kind: 'int',
    help: 'ms that requests in flight get to finish on /rm and on shutdown (default 10000)',
  },
  {
    key: 'headersTimeoutMs',
    flag: 'headers-timeout',
    env: 'RINGLB_HEADERS_TIMEOUT',
    kind: 'int',
    help: 'ms a client has to send a whole request head (default 10000)',
  },
  {
    key: 'keepAliveTimeoutMs',
    flag: 'keepalive-timeout',
    env: 'RINGLB_KEEPALIVE_TIMEOUT',
    kind: 'int',
    help: 'ms an idle client connection stays open (default 5000)',
  },
  {
    key: 'maxConnections',
    flag: 'max-connections',
    env: 'RINGLB_MAX_CONNECTIONS',
    kind: 'int',
    help: 'open client connections per process; more are refused at once (default 10000, 0 = no cap)',
  },
  {
    key: 'maxHeaderSize',
    flag: 'max-header-size',
    env: 'RINGLB_MAX_HEADER_SIZE',
    kind: 'int',
    help: 'bytes of request head accepted; more is a 431 (default 16384)',
  },
  {
    key: 'maxBodySize',
    flag: 'max-body-size',
    env: 'RINGLB_MAX_BODY_SIZE',
    kind: 'int',
    help: 'bytes of proxied request body accepted; more is a 413 (default 0 = no limit, streamed)',
  },
  {
    key: 'trustForwarded',
    flag: 'trust-forwarded',
    env: 'RINGLB_TRUST_FORWARDED',
    kind: 'bool',
    help: "keep the client's own X-Forwarded-For and append to it (default false: replace it)",
  },
  {
    key: 'adminToken',
    flag: 'admin-token',
    env: 'RINGLB_ADMIN_TOKEN',
    kind: 'string',
    help: 'require "Authorization: Bearer TOKEN" on every call that changes state (16+ characters)',
  },
  {
    key: 'adminTokenFile',
    flag: 'admin-token-file',
    env: 'RINGLB_ADMIN_TOKEN_FILE',
    kind: 'string',
    help: 'read the admin token from this file',
  },
  {
    key: 'adminListen',
    flag: 'admin-listen',
    env: 'RINGLB_ADMIN_LISTEN',
    kind: 'string',
    help: 'serve the control API on HOST:PORT only (the public port then serves none)',
  },
  {
    key: 'workers',
    flag: 'workers',
    env: 'RINGLB_WORKERS',
    kind: 'int',
    help: 'processes that proxy, sharing the port (default: the number of cores; 1 = a single process)',
  },
  {
    key: 'backends',
    flag: 'backends',
    env: 'RINGLB_BACKENDS',
    kind: 'list',
    help: 'comma-separated URLs of existing servers, for --provider static',
  },
  {
    key: 'healthPath',
    flag: 'health-path',
    env: 'RINGLB_HEALTH_PATH',
    kind: 'string',
    help: 'path of the heartbeat request (default /heartbeat)',
  },
  {
    key: 'upstreamTimeoutMs',
    flag: 'upstream-timeout',
    env: 'RINGLB_UPSTREAM_TIMEOUT',
    kind: 'int',
    help: 'ms a replica may stay silent while a request waits, per try (default 30000)',
  },
  {
    key: 'logLevel',
    flag: 'log-level',
    env: 'RINGLB_LOG_LEVEL',
    kind: 'string',
    help: 'fatal … trace, or silent (default info)',
  },
  {
    key: 'provider',
    flag: 'provider',
    env: 'RINGLB_PROVIDER',
    kind: 'string',
    help: 'where replicas run: process (local child processes, default), docker (containers) or static (--backends)',
  },
  {
    key: 'membership',
    flag: 'membership',
    env: 'RINGLB_MEMBERSHIP',
    kind: 'string',
    help: 'local (default: this process alone) or etcd (several balancers share one ring through etcd)',
  },
  {
    key: 'etcdEndpoints',
    flag: 'etcd-endpoints',
    env: 'RINGLB_ETCD_ENDPOINTS',
    kind: 'list',
    help: 'comma-separated etcd client URLs, for --membership etcd (the key prefix is --cluster-name)',
  },
  {
    key: 'etcdLeaseTtl',
    flag: 'etcd-lease-ttl',
    env: 'RINGLB_ETCD_LEASE_TTL',
    kind: 'int',
    help: 'seconds the cluster may go without a leader after the leader dies (default 3)',
  },
  {
    key: 'dockerSocket',
    flag: 'docker-socket',
    env: 'RINGLB_DOCKER_SOCKET',
    kind: 'string',
    help: "the Docker daemon's socket (default /var/run/docker.sock)",
  },
  {
    key: 'dockerImage',
    flag: 'docker-image',
    env: 'RINGLB_DOCKER_IMAGE',
    kind: 'string',
    help: 'image replica containers run, with the command "replica" (default ringlb:latest)',
  },
  {
    key: 'dockerNetwork',
    flag: 'docker-network',
    env: 'RINGLB_DOCKER_NETWORK',
    kind: 'string',
    help: 'network replicas join, reached by container name (balancer in a container); empty: ports published on the host (default)',
  },
  {
    key: 'dockerPublishHost',
    flag: 'docker-publish-host',
    env: 'RINGLB_DOCKER_PUBLISH_HOST',
    kind: 'string',
    help: 'host address replica ports are published on without a network (default 127.0.0.1)',
  },
  {
    key: 'dockerOnExit',
    flag: 'docker-on-exit',
    env: 'RINGLB_DOCKER_ON_EXIT',
    kind: 'string',
    help: 'remove (default) or keep replica containers when the balancer exits; kept ones are adopted by the next balancer',
  },
  {
    key: 'clusterName',
    flag: 'cluster-name',
    env: 'RINGLB_CLUSTER_NAME',
    kind: 'string',
    help: 'labels replica containers; a balancer adopts the running replicas of its cluster (default ringlb)',
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
    help: 'what picks the replica: request-id, header:<name>, cookie:<name>, ip, path, uri (path and query, nginx $request_uri), query:<param> (default request-id)',
  },
  {
    key: 'tlsCert',
    flag: 'tls-cert',
    env: 'RINGLB_TLS_CERT',
    kind: 'string',
    help: 'PEM certificate chain: the port speaks TLS (reloaded when the file changes)',
  },
  {
    key: 'tlsKey',
    flag: 'tls-key',
    env: 'RINGLB_TLS_KEY',
    kind: 'string',
    help: 'PEM private key of --tls-cert (reloaded when the file changes)',
  },
  {
    key: 'tlsMinVersion',
    flag: 'tls-min-version',
    env: 'RINGLB_TLS_MIN_VERSION',
    kind: 'string',
    help: 'oldest TLS version accepted: 1.2 or 1.3 (default 1.2)',
  },
  {
    key: 'httpRedirectPort',
    flag: 'http-redirect-port',
    env: 'RINGLB_HTTP_REDIRECT_PORT',
    kind: 'int',
    help: 'plain-HTTP port that answers every request with a 308 to https (needs TLS)',
  },
  {
    key: 'http2',
    flag: 'http2',
    env: 'RINGLB_HTTP2',
    kind: 'bool',
    help: 'offer HTTP/2 by ALPN on the TLS port (default true)',
  },
  {
    key: 'h2c',
    flag: 'h2c',
    env: 'RINGLB_H2C',
    kind: 'bool',
    help: 'also accept cleartext HTTP/2 (prior knowledge) on a port without TLS (default false)',
  },
  {
    key: 'wsIdleTimeoutMs',
    flag: 'ws-idle-timeout',
    env: 'RINGLB_WS_IDLE_TIMEOUT',
    kind: 'int',
    help: 'ms a WebSocket may stay silent both ways before it is closed with 1001 (default 0 = never)',
  },
  {
    key: 'upstreamProtocol',
    flag: 'upstream-protocol',
    env: 'RINGLB_UPSTREAM_PROTOCOL',
    kind: 'string',
    help: 'how replicas are spoken to: http1 or h2c (default http1; an h2c:// backend is h2c anyway)',
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
  if (setting.kind === 'list')
    return raw
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
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
