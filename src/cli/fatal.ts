import { ConfigError } from './config-error.js';

/** Stack traces are for whoever asked for them with --log-level debug (or trace). */
function wantsStacks(argv: readonly string[]): boolean {
  const flag = argv.findIndex((arg) => arg === '--log-level' || arg.startsWith('--log-level='));
  const level = flag < 0 ? process.env.RINGLB_LOG_LEVEL : (argv[flag]!.split('=')[1] ?? argv[flag + 1]);
  return level === 'debug' || level === 'trace';
}

/**
 * How a run of the bin that failed ends: the message (its stack only at `--log-level debug`), exit
 * status 2 for a usage error, else 1.
 */
export function exitWithError(error: unknown): never {
  const usage = error instanceof ConfigError;
  const message =
    usage || !wantsStacks(process.argv)
      ? ((error as Error)?.message ?? String(error))
      : ((error as Error)?.stack ?? String(error));
  const hint = usage || wantsStacks(process.argv) ? '' : ' (--log-level debug shows where)';
  process.stderr.write(`ringlb: ${message}${hint}\n`);
  process.exit(usage ? 2 : 1);
}
