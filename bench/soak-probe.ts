// Loaded into every ringlb process of a soak run (NODE_OPTIONS=--import, so cluster workers get it
// too): once a second it writes the process's heap used, the heap used right after the last major
// (mark-compact) GC, and the event-loop delay to
// $SOAK_PROBE_DIR/<pid>.json, which the harness reads beside RSS and fds from /proc. Nothing else
// changes in the process; the timer is unref'd so it never keeps one alive.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

const dir = process.env.SOAK_PROBE_DIR;
if (dir !== undefined && dir !== '') {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const file = join(dir, `${process.pid}.json`);
  // What survives a full collection is what the process keeps: the leak signal, without the
  // sawtooth of garbage between collections (and without forcing a GC, which would disturb it).
  let heapAfterGc: number | undefined;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries())
      if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)
        heapAfterGc = process.memoryUsage().heapUsed;
  }).observe({ entryTypes: ['gc'] });
  setInterval(() => {
    const sample = {
      at: Date.now(),
      heapUsed: process.memoryUsage().heapUsed,
      heapAfterGc,
      // ns → ms; the histogram covers the last second only
      delayP99Ms: delay.percentile(99) / 1e6,
      delayMaxMs: delay.max / 1e6,
    };
    delay.reset();
    try {
      writeFileSync(file, JSON.stringify(sample));
    } catch {
      // the run's directory is gone: the harness has finished
    }
  }, 1000).unref();
}
