import { ConfigError } from './config-error.js';
import { PLAN_FLAGS, planRequest, type PlanRequest } from './plan-request.js';

/** The client commands: they talk to a running balancer's HTTP API. */
export type ClientCommand = 'status' | 'add' | 'rm' | 'plan';

export interface ClientArgs {
  readonly command: ClientCommand;
  readonly url: string;
  readonly token: string | undefined;
  readonly json: boolean;
  readonly timeoutMs: number;
  /** add / rm: how many; undefined = as many as names, or 1. */
  readonly n: number | undefined;
  readonly names: readonly string[];
  readonly help: boolean;
  /** plan: the dry run to ask for. */
  readonly plan?: PlanRequest;
}

export interface ClientFlag {
  readonly flag: string;
  readonly value?: string;
  readonly env?: string;
  readonly default: string;
  readonly help: string;
  readonly commands: readonly ClientCommand[];
  /** May be given more than once; every value is kept. */
  readonly repeats?: boolean;
}

const ALL: readonly ClientCommand[] = ['status', 'add', 'rm', 'plan'];

export const CLIENT_FLAGS: readonly ClientFlag[] = [
  {
    flag: 'n',
    value: '<count>',
    default: 'the number of NAMEs, or 1',
    help: 'how many replicas',
    commands: ['add', 'rm', 'plan'],
  },
  ...PLAN_FLAGS,
  {
    flag: 'url',
    value: '<url>',
    env: 'RINGLB_URL',
    default: 'http://127.0.0.1:5000',
    help: 'the balancer to talk to',
    commands: ALL,
  },
  {
    flag: 'token',
    value: '<token>',
    env: 'RINGLB_TOKEN',
    default: 'none',
    help: 'admin token, sent as "Authorization: Bearer <token>"',
    commands: ALL,
  },
  {
    flag: 'json',
    default: 'off',
    help: "print the balancer's JSON instead of a table",
    commands: ALL,
  },
  {
    flag: 'timeout',
    value: '<ms>',
    env: 'RINGLB_TIMEOUT',
    default: '10000',
    help: 'give up after this long',
    commands: ALL,
  },
];

const SUMMARY: Record<ClientCommand, { usage: string; text: string }> = {
  status: {
    usage: 'ringlb status [options]',
    text: 'Shows each replica: state, key share, req/s, p99 and last health check (GET /dashboard/state).',
  },
  add: {
    usage: 'ringlb add [--n N] [NAME...] [options]',
    text: 'Adds replicas (POST /add): the NAMEs first, generated names for the rest.',
  },
  rm: {
    usage: 'ringlb rm [--n N] [NAME...] [options]',
    text: 'Removes replicas (POST /rm): the NAMEs first, the rest chosen at random.',
  },
  plan: {
    usage: `ringlb plan add [--n N] [NAME...] [--weight NAME=W]... [--key KEY]... [options]
       ringlb plan rm [--n N] [NAME...] [--key KEY]... [options]
       ringlb plan ring [--ring ALGORITHM] [--balance-factor F] [...] [--key KEY]... [options]
       ringlb plan weight NAME WEIGHT [--key KEY]... [options]`,
    text: `Shows what a change would do, and changes nothing (?dry_run=true on POST /add, POST /rm,
PUT /ring or PUT /replicas/<name>): the fraction of the key space that would move, each replica's
share before and after, and the owners before and after of each --key (a hash key as --hash-key
reads it: a request id in decimal, a header's or cookie's value, a path). A removal without NAMEs
shows the replicas it picked at random: remove those names to apply exactly what was shown.`,
  },
};

export const EXIT = { ok: 0, refused: 1, usage: 2, unreachable: 3 } as const;

export function isClientCommand(command: string | undefined): command is ClientCommand {
  return command === 'status' || command === 'add' || command === 'rm' || command === 'plan';
}

export function clientHelp(command: ClientCommand): string {
  const flags = CLIENT_FLAGS.filter((f) => f.commands.includes(command));
  const labels = flags.map((f) => `--${f.flag}${f.value ? ` ${f.value}` : ''}`);
  const width = Math.max(...labels.map((l) => l.length), '-h, --help'.length) + 2;
  const lines = flags.map(
    (f, i) => `  ${labels[i]!.padEnd(width)}${f.help} (default ${f.default})${f.env ? `  [${f.env}]` : ''}`,
  );
  return `Usage: ${SUMMARY[command].usage}

${SUMMARY[command].text}

Options (flags beat environment variables):
${lines.join('\n')}
  ${'-h, --help'.padEnd(width)}this help

Exit codes: ${EXIT.ok} done; ${EXIT.refused} the balancer refused (its message on stderr); ${EXIT.usage} bad usage;
${EXIT.unreachable} the balancer could not be reached or did not answer like ringlb.
`;
}

/** Parses `ringlb <command> ...`; throws ConfigError (exit 2) on bad usage. */
export function parseClientArgs(
  command: ClientCommand,
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): ClientArgs {
  const values = new Map<string, string>();
  const repeated = new Map<string, string[]>();
  const names: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    if (/^-[^-]/.test(arg)) {
      throw new ConfigError(`unknown option ${arg} for ringlb ${command} (see ringlb ${command} --help)`);
    }
    if (!arg.startsWith('--')) {
      if (command === 'status') throw new ConfigError(`status takes no names (got "${arg}")`);
      names.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const flag = CLIENT_FLAGS.find((f) => f.flag === name && f.commands.includes(command));
    if (!flag)
      throw new ConfigError(`unknown option --${name} for ringlb ${command} (see ringlb ${command} --help)`);
    if (flag.value === undefined) {
      if (eq >= 0) throw new ConfigError(`--${name} takes no value`);
      values.set(name, 'true');
      continue;
    }
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new ConfigError(`--${name} needs a value`);
    if (flag.repeats) repeated.set(name, [...(repeated.get(name) ?? []), value]);
    else values.set(name, value);
  }
  const fromEnv = (flag: string): string | undefined => {
    const key = CLIENT_FLAGS.find((f) => f.flag === flag)!.env;
    const value = key === undefined ? undefined : env[key];
    return value === '' ? undefined : value;
  };
  const pick = (flag: string): string | undefined => values.get(flag) ?? fromEnv(flag);
  /** The setting as the user gave it: the flag, or the environment variable it came from. */
  const given = (flag: string): string =>
    values.has(flag) ? `--${flag}` : (CLIENT_FLAGS.find((f) => f.flag === flag)!.env ?? `--${flag}`);

  const url = pick('url') ?? 'http://127.0.0.1:5000';
  let parsedUrl: URL;
  try {
    parsedUrl = new URL(url);
  } catch {
    throw new ConfigError(`${given('url')}: "${url}" is not a URL`);
  }
  if (parsedUrl.protocol !== 'http:' && parsedUrl.protocol !== 'https:') {
    throw new ConfigError(`${given('url')}: "${url}" must start with http:// or https://`);
  }
  const timeoutMs = positiveInt(given('timeout'), pick('timeout') ?? '10000');
  const nText = pick('n');
  const n = nText === undefined ? undefined : positiveInt(given('n'), nText);
  return {
    command,
    url: parsedUrl.href.replace(/\/$/, ''),
    token: pick('token'),
    json: values.has('json'),
    timeoutMs,
    n,
    names,
    help,
    ...(command === 'plan' && !help ? { plan: planRequest(names, n, values, repeated) } : {}),
  };
}

function positiveInt(flag: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new ConfigError(`${flag}: expected a whole number from 1 up, got "${text}"`);
  }
  return Number(text);
}
