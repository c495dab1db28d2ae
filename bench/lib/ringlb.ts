import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startGroup, type StartOptions, type Started } from './processes.js';

/**
 * The built CLI, relative to this file's compiled copy: dist/bench/lib/ (beside dist/cli), or a
 * harness compiled with the repository as its root (.soak/bench/lib/, the CLI in ../../../dist).
 */
export const RINGLB_MAIN =
  [
    fileURLToPath(new URL('../../cli/main.js', import.meta.url)),
    fileURLToPath(new URL('../../../dist/cli/main.js', import.meta.url)),
  ].find((path) => existsSync(path)) ?? fileURLToPath(new URL('../../cli/main.js', import.meta.url));

export function assertBuilt(): void {
  if (!existsSync(RINGLB_MAIN)) throw new Error(`${RINGLB_MAIN} is missing: run "npm run build" first`);
}

/** What this build of `ringlb start` offers, read from its --help so the harnesses follow the CLI. */
export interface RinglbFeatures {
  /** Ring algorithms `--ring` accepts; empty when the flag does not exist (only the built-in ring). */
  readonly algorithms: string[];
  readonly workers: boolean;
}

export function parseHelp(help: string): RinglbFeatures {
  const ring = /^\s*--ring <value>\s+[^:\n]*:\s*([a-z0-9_-]+(?:\s*,\s*[a-z0-9_-]+)*)/m.exec(help);
  const algorithms = ring ? ring[1]!.split(',').map((name) => name.trim()) : [];
  return { algorithms, workers: /^\s*--workers\b/m.test(help) };
}

export function ringlbFeatures(): RinglbFeatures {
  return parseHelp(execFileSync(process.execPath, [RINGLB_MAIN, 'start', '--help'], { encoding: 'utf8' }));
}

export interface LogLine {
  /** When ringlb wrote it (pino's `time`), or when we read it. */
  readonly time: number;
  readonly msg: string;
  readonly fields: Record<string, unknown>;
}

/** The built CLI's shebang (`#!/usr/bin/env -S NAME=value ... node --flag ...`), parsed. */
function binShebang(): { env: Record<string, string>; flags: string[] } {
  const first = readFileSync(RINGLB_MAIN, 'utf8').split('\n', 1)[0]!;
  const match = /^#!\/usr\/bin\/env -S((?: [A-Z_]+=\S+)*) node((?: --[\w-]+(?:=\S+)?)*)$/.exec(first);
  if (!match) throw new Error(`${RINGLB_MAIN}: unexpected first line ${JSON.stringify(first)}`);
  const env: Record<string, string> = {};
  for (const word of match[1]!.split(' ').filter(Boolean)) {
    const eq = word.indexOf('=');
    env[word.slice(0, eq)] = word.slice(eq + 1);
  }
  return { env, flags: match[2]!.split(' ').filter(Boolean) };
}

/** The node flags in the built CLI's shebang. */
export function binNodeFlags(): string[] {
  return binShebang().flags;
}

/** The environment the built CLI's shebang sets (`env -S NAME=value ...`). */
export function binEnv(): Record<string, string> {
  return binShebang().env;
}

/**
 * `ringlb start ARGS` in its own process group; JSON log lines go to `onLog`; `nodeArgs` go to node
 * before the script (e.g. `--cpu-prof`).
 */
export function startRinglb(
  args: readonly string[],
  options: StartOptions & { onLog?: (line: LogLine) => void; nodeArgs?: readonly string[] } = {},
): Started {
  const { onLog, nodeArgs = [], ...rest } = options;
  // Run as the `ringlb` bin runs (with its shebang's node flags and environment), so memory is
  // measured as users see it.
  return startGroup(
    'ringlb',
    process.execPath,
    [...binNodeFlags(), ...nodeArgs, RINGLB_MAIN, 'start', ...args],
    {
      ...rest,
      env: { ...(rest.env ?? process.env), ...binEnv() },
      onLine: (line) => {
        if (!onLog || !line.startsWith('{')) return;
        try {
          const fields = JSON.parse(line) as Record<string, unknown>;
          const time = typeof fields.time === 'number' ? fields.time : Date.now();
          onLog({ time, msg: typeof fields.msg === 'string' ? fields.msg : '', fields });
        } catch {
          // not a log line
        }
      },
    },
  );
}
