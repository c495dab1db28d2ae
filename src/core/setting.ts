import { z } from 'zod';

/**
 * One setting, declared once: its flag, environment variable, help line, default and zod rule all
 * come from here. The command line, the environment, the config file, `--help` and (for the ring)
 * `PUT /ring` read the same declaration.
 */
export type SettingKind = 'int' | 'number' | 'string' | 'list' | 'bool';

/** What a setting's value is: how text becomes a value, and the rule the value must pass. */
export interface SettingValue<R extends z.ZodType> {
  readonly kind: SettingKind;
  readonly rule: R;
}

export interface Setting<R extends z.ZodType = z.ZodType> {
  readonly flag: string;
  readonly env: string;
  readonly kind: SettingKind;
  /** The help line, its default included. */
  readonly help: string;
  /** The rule for one value, its default included. */
  readonly rule: R;
  /** The rule for one given value, without the default (for bodies that change some settings). */
  readonly given: z.ZodType;
}

interface Spec<R extends z.ZodType> {
  readonly flag: string;
  readonly help: string;
  readonly value: SettingValue<R>;
}

/** The environment variable of a flag: `--ring-size` is `RINGLB_RING_SIZE`. */
export function envOf(flag: string): string {
  return `RINGLB_${flag.toUpperCase().replace(/-/g, '_')}`;
}

/** A setting with a default; `defaultText` says it in words when the value alone would not. */
export function setting<R extends z.ZodType>(
  spec: Spec<R> & { readonly default: z.output<R>; readonly defaultText?: string },
): Setting<z.ZodDefault<R>> {
  const shown = spec.defaultText ?? (spec.default === '' ? 'none' : String(spec.default));
  return {
    flag: spec.flag,
    env: envOf(spec.flag),
    kind: spec.value.kind,
    help: `${spec.help} (default ${shown})`,
    rule: spec.value.rule.default(spec.default as never) as z.ZodDefault<R>,
    given: spec.value.rule,
  };
}

/** A setting that is unset unless given; `unsetText` says what that means. */
export function optionalSetting<R extends z.ZodType>(
  spec: Spec<R> & { readonly unsetText?: string },
): Setting<z.ZodOptional<R>> {
  return {
    flag: spec.flag,
    env: envOf(spec.flag),
    kind: spec.value.kind,
    help: spec.unsetText ? `${spec.help} (default ${spec.unsetText})` : spec.help,
    rule: spec.value.rule.optional(),
    given: spec.value.rule,
  };
}

/** A value as a message shows it: text in quotes, numbers bare. */
export function shown(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

const got = (issue: { input?: unknown }) =>
  `got ${issue.input === undefined ? 'nothing' : shown(issue.input)}`;

/** A whole number from min to max (no max: any from min up). */
export function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER): SettingValue<z.ZodNumber> {
  const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
  const error = (issue: { input?: unknown }) => `expected a whole number ${range}, ${got(issue)}`;
  return {
    kind: 'int',
    rule: z.number({ error }).int({ error }).min(min, { error }).max(max, { error }),
  };
}

/** Any number; `check` says what is wrong with one, or undefined when it is fine. */
export function decimal(
  expected: string,
  check: (value: number) => string | undefined = () => undefined,
): SettingValue<z.ZodNumber> {
  const error = (issue: { input?: unknown }) => `expected ${expected}, ${got(issue)}`;
  const rule = z.number({ error }).superRefine((value, ctx) => {
    const problem = check(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
  return { kind: 'number', rule };
}

/** A whole number that also passes `check`. */
export function checkedWholeNumber(
  min: number,
  max: number,
  check: (value: number) => string | undefined,
): SettingValue<z.ZodNumber> {
  const { rule } = wholeNumber(min, max);
  const checked = rule.superRefine((value, ctx) => {
    const problem = check(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
  return { kind: 'int', rule: checked };
}

export function yesNo(): SettingValue<z.ZodBoolean> {
  return {
    kind: 'bool',
    rule: z.boolean({ error: (issue) => `expected true or false (or 1 or 0), ${got(issue)}` }),
  };
}

export function oneOf<const T extends readonly [string, ...string[]]>(
  choices: T,
): SettingValue<z.ZodEnum<{ [K in T[number]]: K }>> {
  return {
    kind: 'string',
    rule: z.enum(choices, { error: (issue) => `expected one of ${choices.join(', ')}, ${got(issue)}` }),
  };
}

/** Text matching `pattern`; `expected` says in words what that is. */
export function text(expected = 'some text', pattern = /^.+$/s): SettingValue<z.ZodString> {
  const error = (issue: { input?: unknown }) => `expected ${expected}, ${got(issue)}`;
  return { kind: 'string', rule: z.string({ error }).regex(pattern, { error }) };
}

/** Text that `parse` accepts (it throws an Error saying what is wrong otherwise). */
export function parsedText(parse: (text: string) => unknown): SettingValue<z.ZodString> {
  const rule = z
    .string({ error: (issue) => `expected some text, ${got(issue)}` })
    .superRefine((value, ctx) => {
      try {
        parse(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    });
  return { kind: 'string', rule };
}

/** A comma-separated list (an array in the config file) of items passing `item`. */
export function listOf<R extends z.ZodType>(item: SettingValue<R>): SettingValue<z.ZodArray<R>> {
  return {
    kind: 'list',
    rule: z.array(item.rule, { error: (issue) => `expected a comma-separated list, ${got(issue)}` }),
  };
}

/** Turns the text of a flag or an environment variable into the value its rule checks. */
export function fromText(kind: SettingKind, raw: string): unknown {
  if (kind === 'string') return raw;
  if (kind === 'bool') {
    const value = raw.trim().toLowerCase();
    return value === 'true' || value === '1' ? true : value === 'false' || value === '0' ? false : raw;
  }
  if (kind === 'list')
    return raw
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
  // A number stays a number even when a whole one is wanted, so the message can say "got 1.5".
  return /^-?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : raw;
}

/** The zod shape of a group of settings. */
export type RulesOf<G extends Record<string, Setting>> = { [K in keyof G]: G[K]['rule'] };

export function rulesOf<G extends Record<string, Setting>>(group: G): RulesOf<G> {
  return Object.fromEntries(Object.entries(group).map(([key, s]) => [key, s.rule])) as RulesOf<G>;
}
