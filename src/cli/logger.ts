import { pino, type Logger, type LevelWithSilent } from 'pino';
import { prettyLine } from '../ops/pretty-log.js';
import type { Config } from './config.js';

const STACK_LEVELS: ReadonlySet<LevelWithSilent> = new Set(['debug', 'trace']);

/**
 * How an `err` field is logged: its type, message and own fields, and its stack only at
 * `--log-level debug` or `trace` (a user meets no stack trace unless they ask for one).
 */
export function errorSerializer(level: LevelWithSilent): (error: Error) => Record<string, unknown> {
  const stacks = STACK_LEVELS.has(level);
  return (error) => {
    const serialized = pino.stdSerializers.err(error) as unknown as Record<string, unknown>;
    if (stacks) return serialized;
    const { stack: _stack, ...rest } = serialized;
    return rest;
  };
}

/** pino JSON lines, or readable lines when asked to or when stdout is a terminal (`--log-format auto`). */
export function createLogger(
  config: Pick<Config, 'logLevel' | 'logFormat'>,
  stdout: NodeJS.WriteStream = process.stdout,
): Logger {
  const options = {
    level: config.logLevel,
    base: { service: 'ringlb' },
    serializers: { err: errorSerializer(config.logLevel) },
  };
  const pretty = config.logFormat === 'pretty' || (config.logFormat === 'auto' && stdout.isTTY === true);
  if (!pretty) return pino(options);
  const colours = stdout.isTTY === true;
  return pino(options, { write: (line: string) => void stdout.write(prettyLine(line, colours)) });
}
