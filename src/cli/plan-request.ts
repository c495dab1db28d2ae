import { fromText } from '../core/setting.js';
import { RING_FIELD, RING_SETTINGS, type RingSettingKey } from '../control/ring-settings.js';
import type { ClientFlag } from './client-args.js';
import { ConfigError } from './config-error.js';

/** What `ringlb plan` previews: the change, named as the command line names it. */
export type PlanSubject = 'add' | 'rm' | 'ring' | 'weight';

const SUBJECTS: readonly PlanSubject[] = ['add', 'rm', 'ring', 'weight'];

/** The dry run to ask the balancer for. */
export interface PlanRequest {
  readonly subject: PlanSubject;
  readonly method: 'POST' | 'PUT';
  /** The control path with `?dry_run=true`. */
  readonly path: string;
  readonly body: Record<string, unknown>;
}

/** The ring settings' own flags (`--ring`, `--balance-factor`, ...), as `ringlb start` takes them. */
const RING_FLAGS: readonly ClientFlag[] = (Object.keys(RING_SETTINGS) as RingSettingKey[]).map((key) => ({
  flag: RING_SETTINGS[key].flag,
  value: '<value>',
  default: 'as in force',
  // The setting's help says its start-up default; here the default is the ring in force.
  help: `plan ring: ${RING_SETTINGS[key].help.replace(/ \(default [^)]*\)$/, '')}`,
  commands: ['plan'],
}));

export const PLAN_FLAGS: readonly ClientFlag[] = [
  {
    flag: 'key',
    value: '<key>',
    default: 'none',
    help: 'a hash key whose owners before and after to show (repeat for more)',
    commands: ['plan'],
    repeats: true,
  },
  {
    flag: 'weight',
    value: '<NAME=W>',
    default: 'none: weight 1',
    help: 'plan add: the weight of a named new replica (repeat for more)',
    commands: ['plan'],
    repeats: true,
  },
  ...RING_FLAGS,
];

function usage(message: string): ConfigError {
  return new ConfigError(`plan: ${message} (see ringlb plan --help)`);
}

function weightsOf(given: readonly string[], names: readonly string[]): Record<string, number> {
  const weights: Record<string, number> = {};
  for (const text of given) {
    const eq = text.lastIndexOf('=');
    const name = text.slice(0, Math.max(0, eq));
    const weight = Number(text.slice(eq + 1));
    if (eq <= 0 || text.slice(eq + 1).trim() === '' || !Number.isFinite(weight)) {
      throw usage(`--weight: "${text}" is not NAME=WEIGHT (e.g. --weight S5=2)`);
    }
    if (!names.includes(name)) throw usage(`--weight: "${name}" is not one of the NAMEs to add`);
    weights[name] = weight;
  }
  return weights;
}

/**
 * Turns `ringlb plan <subject> ...` into its dry run. Values are checked by the balancer, with the
 * same rules as the change itself; here only the shape of the command line is.
 */
export function planRequest(
  positional: readonly string[],
  n: number | undefined,
  values: ReadonlyMap<string, string>,
  repeated: ReadonlyMap<string, readonly string[]>,
): PlanRequest {
  const [given, ...names] = positional;
  if (given === undefined) throw usage(`say what to preview: ${SUBJECTS.join(', ')}`);
  const subject = SUBJECTS.find((s) => s === given);
  if (subject === undefined) {
    throw usage(`"${given}" is not a change to preview: expected ${SUBJECTS.join(', ')}`);
  }
  const keys = repeated.get('key') ?? [];
  const withKeys = (body: Record<string, unknown>) => (keys.length > 0 ? { ...body, keys } : body);
  const ringGiven = RING_FLAGS.filter((f) => values.has(f.flag)).map((f) => `--${f.flag}`);
  if (subject !== 'ring' && ringGiven.length > 0) throw usage(`${ringGiven[0]} is for plan ring`);
  if ((subject === 'ring' || subject === 'weight') && n !== undefined)
    throw usage(`--n is for plan add and rm`);
  const weightsGiven = repeated.get('weight') ?? [];
  if (subject !== 'add' && weightsGiven.length > 0) throw usage('--weight is for plan add');
  if (subject === 'add' || subject === 'rm') {
    const body: Record<string, unknown> = { n: n ?? Math.max(1, names.length), hostnames: names };
    if (weightsGiven.length > 0) body.weights = weightsOf(weightsGiven, names);
    return { subject, method: 'POST', path: `/${subject}?dry_run=true`, body: withKeys(body) };
  }
  if (subject === 'ring') {
    if (names.length > 0) throw usage(`plan ring takes no names (got "${names[0]}"): give ring flags`);
    const body: Record<string, unknown> = {};
    for (const key of Object.keys(RING_SETTINGS) as RingSettingKey[]) {
      const { flag, kind } = RING_SETTINGS[key];
      const text = values.get(flag);
      if (text !== undefined) body[RING_FIELD[key]] = fromText(kind, text);
    }
    return { subject, method: 'PUT', path: '/ring?dry_run=true', body: withKeys(body) };
  }
  const [name, weightText, ...rest] = names;
  if (name === undefined || weightText === undefined || rest.length > 0) {
    throw usage('plan weight takes a replica NAME and a WEIGHT, e.g. ringlb plan weight S5 2');
  }
  const weight = Number(weightText);
  if (weightText.trim() === '' || !Number.isFinite(weight)) {
    throw usage(`"${weightText}" is not a weight (a number, e.g. 2)`);
  }
  return {
    subject,
    method: 'PUT',
    path: `/replicas/${encodeURIComponent(name)}?dry_run=true`,
    body: withKeys({ weight }),
  };
}
