#!/usr/bin/env -S node --max-semi-space-size=4
import { readFileSync } from 'node:fs';
import { runReplica } from '../replica/main.js';
import { startBalancer } from './balancer.js';
import { isWorkerProcess, runPrimary, runWorker } from './workers.js';
import { clientHelp, isClientCommand, parseClientArgs } from './client-args.js';
import { runClient } from './client.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { DOWN_HELP, REPLICA_HELP, helpText } from './help.js';
import { preflight } from './preflight.js';
import { runDown } from './down.js';
import { createLogger } from './logger.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** Loads the settings and runs every check on them; throws a ConfigError listing the problems. */
async function checked(
  argv: string[],
  command: 'start' | 'check',
): Promise<{ config: Config; warnings: string[] }> {
  const config = loadConfig(argv);
  const { problems, warnings } = await preflight(config);
  if (problems.length > 0) {
    const found = `${problems.length} problem${problems.length === 1 ? '' : 's'}`;
    throw new ConfigError(
      `${command === 'start' ? 'not started' : 'check failed'}: ${found}:\n  ${[...problems, ...warnings.map((w) => `warning: ${w}`)].join('\n  ')}`,
    );
  }
  return { config, warnings };
}

async function check(argv: string[]): Promise<void> {
  const { config, warnings } = await checked(argv, 'check');
  for (const warning of warnings) process.stdout.write(`warning: ${warning}\n`);
  const where = `${config.host}:${config.port}`;
  process.stdout.write(
    `ringlb check: no problems; would listen on ${where} with ${config.replicas} replicas (--provider ${config.provider}, --ring ${config.ring})\n`,
  );
}

async function start(argv: string[]): Promise<void> {
  const { config, warnings } = await checked(argv, 'start');
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
  balancer = config.workers > 1 ? await runPrimary(config, logger) : await startBalancer(config, logger);
}

async function main(argv: string[]): Promise<void> {
  if (isWorkerProcess()) {
    const config = JSON.parse(process.env.RINGLB_WORKER_CONFIG!) as Config;
    return runWorker(createLogger(config).child({ worker: process.pid }));
  }
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
    if (rest.length > 0)
      throw new ConfigError(`ringlb replica takes no options (got "${rest[0]}"); see ringlb replica --help`);
    runReplica();
    return;
  }
  throw new ConfigError(`unknown command "${command}" (see ringlb --help)`);
}

/** Stack traces are for whoever asked for them with --log-level debug (or trace). */
function wantsStacks(argv: readonly string[]): boolean {
  const flag = argv.findIndex((arg) => arg === '--log-level' || arg.startsWith('--log-level='));
  const level = flag < 0 ? process.env.RINGLB_LOG_LEVEL : (argv[flag]!.split('=')[1] ?? argv[flag + 1]);
  return level === 'debug' || level === 'trace';
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const usage = error instanceof ConfigError;
  const message =
    usage || !wantsStacks(process.argv)
      ? ((error as Error)?.message ?? String(error))
      : ((error as Error)?.stack ?? String(error));
  const hint = usage || wantsStacks(process.argv) ? '' : ' (--log-level debug shows where)';
  process.stderr.write(`ringlb: ${message}${hint}\n`);
  process.exit(usage ? 2 : 1);
});
