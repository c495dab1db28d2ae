#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { runReplica } from '../replica/main.js';
import { startBalancer } from './balancer.js';
import { isWorkerProcess, runPrimary, runWorker } from './workers.js';
import { clientHelp, isClientCommand, parseClientArgs } from './client-args.js';
import { runClient } from './client.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { helpText } from './help.js';
import { runDown } from './down.js';
import { createLogger } from './logger.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

async function start(argv: string[]): Promise<void> {
  const config = loadConfig(argv);
  const logger = createLogger(config);
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
    logger.fatal({ err: error }, 'uncaught exception; exiting (replicas are killed on exit)');
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
  if (command === 'start') {
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(helpText(version));
      return;
    }
    return start(rest);
  }
  if (isClientCommand(command)) {
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(clientHelp(command));
      return;
    }
    process.exitCode = await runClient(parseClientArgs(command, rest));
    return;
  }
  if (command === 'down') {
    process.exitCode = await runDown(rest);
    return;
  }
  if (command === 'replica') {
    runReplica();
    return;
  }
  throw new ConfigError(`unknown command "${command}" (see ringlb --help)`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const message = error instanceof ConfigError ? error.message : ((error as Error)?.stack ?? String(error));
  process.stderr.write(`ringlb: ${message}\n`);
  process.exit(error instanceof ConfigError ? 2 : 1);
});
