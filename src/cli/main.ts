#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=65536 node --max-semi-space-size=2 --single-threaded-gc --v8-pool-size=1
import { exitWithError } from './fatal.js';
import { isWorkerProcess } from './worker-messages.js';

/*
 * The `ringlb` bin. A `--workers` process loads only what proxying needs (worker-process.ts); every
 * other run loads the commands (commands.ts). Modules are imported here on demand, because ESM
 * evaluates every static import first: the commands' settings validation (zod), control plane and
 * metrics (prom-client) would take ~10 MB of RSS in each worker that never uses them (issue 15).
 */
const run = isWorkerProcess()
  ? import('./worker-process.js').then((worker) => worker.runWorker())
  : import('./commands.js').then((commands) => commands.main(process.argv.slice(2)));
run.catch(exitWithError);
