/**
 * Flags the balancer's node process runs with, wherever it is started: the `ringlb` bin's shebang
 * (src/cli/main.ts), `npm start`, the Docker image, `--workers` processes and the benchmarks; a test
 * checks that they all carry these.
 *
 * `--max-semi-space-size=2` (MB): V8's young generation otherwise grows to 2 × 16 MB under load, and
 * that alone took the balancer past issue 14's 80 MB RSS (83 MB after bench:proxy's workloads, 75 MB
 * with 4 MB; bare node 20 is 43 MB). 2 MB took another 3 MB off after a GET/POST mix (82 → 79 MB) at
 * the same req/s. Requests leave little alive across a scavenge, so the smaller young generation costs
 * little more GC time (measured: within the noise of this machine). V8 reads
 * the flag when the heap is made: `v8.setFlagsFromString` at run time has no effect.
 *
 * `--single-threaded-gc`: V8 otherwise has helper threads mark and scavenge beside the main thread.
 * A balancer process is one event loop, run one per core (`--workers`), so those threads only take
 * turns with the loop on its core (or steal another worker's), and every collection adds thread
 * switches to the requests it pauses. Measured on bench:proxy's setup (ringlb pinned to one core
 * with the backends, as nginx is; runs in A-B-B-A order, since the later of two back-to-back runs
 * here is slower): 1 MiB uploads +8 % MiB/s with 10 % less CPU per upload, p99 of POST 1 KiB and
 * the 90/10 mix a little lower; GET, POST and mix req/s the same within the noise.
 *
 * `--v8-pool-size=1`: V8's background threads (compile jobs, with the collector on the main thread)
 * would otherwise be 4 per process, and every thread that allocates gets a malloc arena of its own
 * that keeps its pages. With 10,000 idle WebSockets over `--workers 2`, one thread took 6 MB off the
 * two processes' summed RSS (155 → 149 MB; MALLOC_ARENA_MAX=1 did the same, and both together no more).
 */
export const NODE_FLAGS: readonly string[] = [
  '--max-semi-space-size=2',
  '--single-threaded-gc',
  '--v8-pool-size=1',
];

/**
 * Environment the balancer's node process runs with, wherever NODE_FLAGS are given (the shebang
 * sets it with `env -S`, the Docker image with ENV); a test checks them all.
 *
 * `MALLOC_MMAP_THRESHOLD_=65536`: the 64 KiB blocks the data path reads into (a replica connection's
 * buffer, an upload's own buffer, the copies kept for a retry) get pages of their own from the
 * kernel, which go back to it when the block is freed. glibc's threshold otherwise starts at 128 KiB
 * and grows, so they came from the heap, and a heap keeps what it cannot trim from its top: after
 * bench:proxy's uploads and downloads the heap held 15–19 MB and RSS was 84 MB; with the threshold,
 * 8 MB and 80 MB, at the same MiB/s (A-B-B-A). With the read buffers reused, few such blocks are
 * made, so the extra system calls are rare; with a fresh 64 KiB block per read (before) they cost
 * uploads 14 %.
 */
export const PROCESS_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: '65536',
};

/** PROCESS_ENV as `NAME=value` words, the way a shell or `env` takes them. */
export function processEnvWords(): string[] {
  return Object.entries(PROCESS_ENV).map(([name, value]) => `${name}=${value}`);
}

/** Whichever of PROCESS_ENV `env` lacks (for forked worker processes, when the primary lacks them). */
export function missingProcessEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(PROCESS_ENV).filter(([name]) => env[name] === undefined));
}

/** `execArgv` plus whichever of NODE_FLAGS it lacks (for forked worker processes). */
export function withNodeFlags(execArgv: readonly string[]): string[] {
  const names = new Set(execArgv.map((arg) => arg.split('=')[0]));
  return [...execArgv, ...NODE_FLAGS.filter((flag) => !names.has(flag.split('=')[0]))];
}
