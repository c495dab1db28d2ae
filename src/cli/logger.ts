import { pino, type Logger } from 'pino';
import { prettyLine } from '../ops/pretty-log.js';
import type { Config } from './config.js';

/** pino JSON lines, or readable lines when asked to or when stdout is a terminal (`--log-format auto`). */
export function createLogger(
  config: Pick<Config, 'logLevel' | 'logFormat'>,
  stdout: NodeJS.WriteStream = process.stdout,
): Logger {
  const options = { level: config.logLevel, base: { service: 'ringlb' } };
  const pretty = config.logFormat === 'pretty' || (config.logFormat === 'auto' && stdout.isTTY === true);
  if (!pretty) return pino(options);
  const colours = stdout.isTTY === true;
  return pino(options, { write: (line: string) => void stdout.write(prettyLine(line, colours)) });
}
