// Loaded into every ringlb process of a soak run (NODE_OPTIONS=--import, so cluster workers get it
// too): once a second it writes the process's heap used and event-loop delay to
// $SOAK_PROBE_DIR/<pid>.json, which the harness reads beside RSS and fds from /proc. Nothing else
// changes in the process; the timer is unref'd so it never keeps one alive.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
const dir = process.env.SOAK_PROBE_DIR;
if (dir !== undefined && dir !== '') {
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const file = join(dir, `${process.pid}.json`);
    setInterval(() => {
        const sample = {
            at: Date.now(),
            heapUsed: process.memoryUsage().heapUsed,
            // ns → ms; the histogram covers the last second only
            delayP99Ms: delay.percentile(99) / 1e6,
            delayMaxMs: delay.max / 1e6,
        };
        delay.reset();
        try {
            writeFileSync(file, JSON.stringify(sample));
        }
        catch {
            // the run's directory is gone: the harness has finished
        }
    }, 1000).unref();
}
