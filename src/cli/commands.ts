import { readFileSync } from 'node:fs';
import { parseReplicaArgs } from '../replica/replica-args.js';
import { startBalancer } from './balancer.js';
import { clientHelp, isClientCommand, parseClientArgs } from './client-args.js';
import { runClient } from './client.js';
import { counted } from '../core/words.js';
import { ConfigError } from './config-error.js';
import { loadConfig, type Config } from './config.js';
import { DOWN_HELP, REPLICA_HELP, helpText } from './help.js';
import { preflight, type StartChecks } from './preflight.js';
import { runDown } from './down.js';
import { createLogger } from './logger.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** Loads the settings and runs every check on them; throws a ConfigError listing the problems. */
async function checked(
  argv: string[],
  command: 'start' | 'check',
): Promise<{ config: Config; warnings: string[]; checks: StartChecks }> {
  const config = loadConfig(argv, process.env, command);
  const { problems, warnings, ...checks } = await preflight(config, command);
  if (problems.length > 0) {
    const found = counted(problems.length, 'problem');
    throw new ConfigError(
      `${command === 'start' ? 'not started' : 'check failed'}: ${found}:\n  ${[...problems, ...warnings.map((w) => `warning: ${w}`)].join('\n  ')}`,
    );
  }
  return { config, warnings, checks };
}

async function check(argv: string[]): Promise<void> {
  const { config, warnings } = await checked(argv, 'check');
  for (const warning of warnings) process.stdout.write(`warning: ${warning}\n`);
  const where = `${config.host}:${config.port}`;
  process.stdout.write(
    `ringlb check: no problems; would listen on ${where} with ${counted(config.replicas, 'replica')} (--provider ${config.provider}, --ring ${config.ring})\n`,
  );
}

async function start(argv: string[]): Promise<void> {
  const { config, warnings, checks } = await checked(argv, 'start');
  const logger = createLogger(config);
  for (const warning of warnings) logger.warn(warning);
  let balancer: { close(): Promise<void> } | undefined;
  let stopping = false;
  // Installed before anything starts, so a signal during start-up stops cleanly too (replica
  // processes are killed on exit, workers leave when their primary does).
  const shutdown = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, 'shutting down: draining, then stopping replicas');
    if (!balancer) process.exit(0);
    balancer.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('uncaughtException', (error) => {
    const debug = config.logLevel === 'debug' || config.logLevel === 'trace';
    logger.fatal(
      debug ? { err: error } : { error: error.message },
      'uncaught exception; exiting (replicas are killed on exit)',
    );
    process.exit(1);
  });
  balancer = await startBalancer(config, logger, undefined, checks, config.workers);
}

/** Runs one `ringlb` command (every run of the bin but a `--workers` process). */
export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(helpText(version));
    return;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${version}\n`);
    return;
  }
  // `--help` on any command prints that command's help and does nothing else.
  const wantsHelp = rest.includes('--help') || rest.includes('-h');
  if (command === 'start' || command === 'check') {
    if (wantsHelp) return void process.stdout.write(helpText(version));
    return command === 'start' ? start(rest) : check(rest);
  }
  if (isClientCommand(command)) {
    if (wantsHelp) return void process.stdout.write(clientHelp(command));
    process.exitCode = await runClient(parseClientArgs(command, rest));
    return;
  }
  if (command === 'down') {
    if (wantsHelp) return void process.stdout.write(DOWN_HELP);
    process.exitCode = await runDown(rest);
    return;
  }
  if (command === 'replica') {
    if (wantsHelp) return void process.stdout.write(REPLICA_HELP);
    let mode;
    try {
      mode = parseReplicaArgs(rest);
    } catch (error) {
      throw new ConfigError(`replica: ${(error as Error).message} (see ringlb replica --help)`);
    }
    // Loaded only for this command: the replica's code (its cache mode's undici above all, ~15 MB of
    // RSS) has no place in a balancer process (issue 14's memory target).
    const { runReplica } = await import('../replica/main.js');
    runReplica(process.env, mode);
    return;
  }
  throw new ConfigError(`unknown command "${command}" (see ringlb --help)`);
}
