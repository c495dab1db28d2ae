import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { fromText, rulesOf, shown } from '../core/setting.js';
import { unusedRingSettingMessage, unusedRingSettings } from '../control/ring-settings.js';
import { RING_DEFAULTS, ringCapacity, ringSettingsOf } from '../ring/registry.js';
import { unreadable } from '../edge/tls-pair.js';
import { ALL_SETTINGS, SETTINGS, type SettingKey } from './settings/index.js';
import { ConfigError } from './config-error.js';

export { SETTINGS } from './settings/index.js';

/**
 * One validated schema for every setting, filled from (lowest to highest precedence) defaults, a JSON
 * config file, `RINGLB_*` environment variables and command-line flags. Each setting's own rule is
 * in ./settings/; what follows are the rules between settings.
 */
export const configSchema = z
  .strictObject(rulesOf(ALL_SETTINGS))
  .transform((c) => ({
    ...c,
    replicas: c.replicas ?? (c.provider === 'static' ? c.backends.length : 3),
    dockerPublishHost: c.dockerPublishHost ?? c.advertiseHost,
  }))
  .transform((c, ctx) => {
    if (c.adminTokenFile === undefined || c.adminToken !== undefined) return c;
    let token: string;
    try {
      token = readFileSync(c.adminTokenFile, 'utf8').trim();
    } catch (error) {
      const message = unreadable(c.adminTokenFile, error as NodeJS.ErrnoException);
      ctx.addIssue({ code: 'custom', path: ['adminTokenFile'], message });
      return z.NEVER;
    }
    if (token.length < 16) {
      const message = `the token in ${JSON.stringify(c.adminTokenFile)} must be at least 16 characters`;
      ctx.addIssue({ code: 'custom', path: ['adminTokenFile'], message });
      return z.NEVER;
    }
    return { ...c, adminToken: token };
  })
  .refine((c) => c.membership !== 'etcd' || c.etcdEndpoints.length > 0, {
    error: 'needed with --membership etcd: give URL,URL,...',
    path: ['etcdEndpoints'],
  })
  .refine((c) => c.membership !== 'etcd' || c.provider !== 'docker', {
    error: 'etcd works with --provider process, static or swarm',
    path: ['membership'],
  })
  .refine((c) => c.provider !== 'swarm' || c.swarmService !== '', {
    error: 'the swarm provider needs the name of the service whose tasks are the replicas',
    path: ['swarmService'],
  })
  .superRefine((c, ctx) => {
    if (c.provider === 'static' || c.backends.length === 0) return;
    const message = `backends are servers that run already, for --provider static; --provider ${c.provider} starts replicas of its own: add --provider static, or leave --backends out`;
    ctx.addIssue({ code: 'custom', message, path: ['backends'] });
  })
  .refine((c) => c.provider !== 'static' || c.backends.length > 0, {
    error: 'the static provider needs URL,URL,...',
    path: ['backends'],
  })
  .superRefine((c, ctx) => {
    if (c.provider === 'static' && c.replicas > c.backends.length) {
      const message = `${c.replicas} is more than the ${c.backends.length} static backends`;
      ctx.addIssue({ code: 'custom', message, path: ['replicas'] });
    }
  })
  .refine((c) => (c.tlsCert === undefined) === (c.tlsKey === undefined), {
    error: 'TLS needs both --tls-cert and --tls-key',
    path: ['tlsCert'],
  })
  .refine((c) => c.httpRedirectPort === undefined || c.tlsCert !== undefined, {
    error: 'redirecting to https needs --tls-cert and --tls-key',
    path: ['httpRedirectPort'],
  })
  .refine((c) => c.upstreamProtocol !== 'h2c' || c.provider === 'static', {
    error: 'the replicas ringlb starts speak HTTP/1.1; h2c is for --provider static backends that speak it',
    path: ['upstreamProtocol'],
  })
  .refine((c) => !(c.h2c && c.tlsCert !== undefined), {
    error: 'h2c is cleartext HTTP/2: with TLS, HTTP/2 is offered by ALPN (--http2)',
    path: ['h2c'],
  })
  .refine((c) => c.slowStart === 0 || c.ring !== 'classic', {
    error:
      "slow start ramps a replica's weight, and the classic ring (the default --ring) has no weights: choose --ring ketama, maglev or rendezvous, or --slow-start 0",
    path: ['slowStart'],
  })
  .superRefine((c, ctx) => {
    const settings = ringSettingsOf(c);
    const unused = unusedRingSettings(settings, RING_DEFAULTS);
    for (const setting of unused) {
      const message = unusedRingSettingMessage(setting, c.ring, (algorithm) => `choose --ring ${algorithm}`);
      ctx.addIssue({ code: 'custom', message, path: [setting.key] });
    }
    if (unused.length > 0) return;
    const capacity = ringCapacity(settings);
    if (c.replicas > capacity) {
      const message =
        c.ring === 'classic'
          ? `${c.replicas} do not fit the classic ring: replicas × vnodes must be at most ringSize (it holds ${capacity}); raise --ring-size, or choose --ring maglev or ketama`
          : `${c.replicas} do not fit the ${c.ring} ring: it holds at most ${capacity}`;
      ctx.addIssue({ code: 'custom', message, path: ['replicas'] });
    }
  });

export type Config = z.output<typeof configSchema>;

/** Where a setting's value came from, as the user wrote it. */
type Sources = Partial<Record<SettingKey, string>>;

const byFlag = new Map(SETTINGS.map((s) => [s.flag, s]));

/** The commands that take the balancer's settings. */
export type SettingsCommand = 'start' | 'check' | 'down';

/** Reads `--name value` / `--name=value` flags; `--config FILE` names the config file. */
export function parseFlags(
  argv: readonly string[],
  command: SettingsCommand = 'start',
): {
  values: Partial<Record<SettingKey, unknown>>;
  file?: string;
} {
  const values: Partial<Record<SettingKey, unknown>> = {};
  let file: string | undefined;
  const help = `(see ringlb ${command} --help)`;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (/^-[^-]/.test(arg)) throw new ConfigError(`unknown option ${arg} ${help}`);
    if (!arg.startsWith('--')) {
      throw new ConfigError(`unexpected argument ${shown(arg)}: options are --name value ${help}`);
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const setting = byFlag.get(name);
    if (!setting && name !== 'config') throw new ConfigError(`unknown option --${name} ${help}`);
    // A yes/no setting takes an optional value; a bare flag (`--access-log`) means yes. The next
    // argument is its value unless it is another option.
    const next = argv[i + 1];
    const bare = eq < 0 && setting?.kind === 'bool' && (next === undefined || next.startsWith('--'));
    const value = bare ? 'true' : eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new ConfigError(`--${name} needs a value`);
    if (!setting) {
      file = value;
      continue;
    }
    values[setting.key] = fromText(setting.kind, value);
  }
  return file === undefined ? { values } : { values, file };
}

function fromEnv(env: NodeJS.ProcessEnv): Partial<Record<SettingKey, unknown>> {
  const values: Partial<Record<SettingKey, unknown>> = {};
  for (const setting of SETTINGS) {
    const raw = env[setting.env];
    if (raw !== undefined && raw !== '') values[setting.key] = fromText(setting.kind, raw);
  }
  return values;
}

function fromFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`--config: ${unreadable(path, error as NodeJS.ErrnoException)}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(
      `--config: ${JSON.stringify(path)} is not a JSON object: ${(error as Error).message}`,
    );
  }
}

/** One line per problem: the setting as the user gave it, what is wrong, what to do. */
function problemLines(
  issues: readonly z.core.$ZodIssue[],
  sources: Sources,
  file: string | undefined,
): string[] {
  return issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return `config file ${file}: unknown setting${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} (settings are the flags in camelCase, e.g. "ringSize")`;
    }
    const key = issue.path.join('.') as SettingKey;
    const where = sources[key] ?? (key in ALL_SETTINGS ? `--${ALL_SETTINGS[key].flag}` : key || 'config');
    return `${where}: ${issue.message}`;
  });
}

export function loadConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  command: SettingsCommand = 'start',
): Config {
  const flags = parseFlags(argv, command);
  const file = flags.file ?? env.RINGLB_CONFIG;
  const fileValues = file ? fromFile(file) : {};
  const envValues = fromEnv(env);
  const sources: Sources = {};
  for (const key of Object.keys(fileValues)) sources[key as SettingKey] = `"${key}" in ${file}`;
  for (const key of Object.keys(envValues) as SettingKey[]) sources[key] = ALL_SETTINGS[key].env;
  for (const key of Object.keys(flags.values) as SettingKey[]) sources[key] = `--${ALL_SETTINGS[key].flag}`;
  const parsed = configSchema.safeParse({ ...fileValues, ...envValues, ...flags.values });
  if (!parsed.success) {
    const lines = problemLines(parsed.error.issues, sources, file);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return parsed.data;
}
