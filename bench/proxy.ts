// The proxy benchmark (issue 4): the same backends, pinning and load through nginx, HAProxy and ringlb
// (one row per ring algorithm), plus direct to one backend as the limit. Prints and writes
// reports/bench-proxy.md. Usage: npm run bench:proxy [-- --quick] [--rounds N] [--seconds S]
// [--backends node,nginx] [--rings classic,ketama] [--connections 64]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fetchText, freePort, sleep } from './lib/net.js';
import {
  cpuTicks,
  descendants,
  onInterrupt,
  rssBytes,
  startGroup,
  stopAll,
  stopGroup,
  type Started,
} from './lib/processes.js';
import { RINGLB_MAIN, assertBuilt, ringlbFeatures, startRinglb } from './lib/ringlb.js';
import { fmt, markdownTable, median } from './lib/stats.js';
import { WRK_SCRIPT, haproxyConfig, nginxBackendConfig, nginxProxyConfig } from './proxy-configs.js';
import { runWrk, type WrkResult } from './wrk.js';

const PROXY_CPU = '0';
const LOAD_CPU = '1';
const CLOCK_TICKS_PER_SECOND = 100;
const REQUIRED_TOOLS = ['nginx', 'haproxy', 'wrk', 'taskset'];

type BackendKind = 'node' | 'nginx';

interface Options {
  readonly rounds: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly connections: number;
  readonly backends: BackendKind[];
  readonly rings: string[] | undefined;
  readonly quick: boolean;
}

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string', default: '64' },
      backends: { type: 'string' },
      rings: { type: 'string' },
    },
  });
  const positive = (name: string, raw: string | undefined, fallback: number) => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0)
      throw new Error(`--${name} must be a positive number, not "${raw}"`);
    return value;
  };
  const quick = values.quick ?? false;
  const backends = (values.backends ?? (quick ? 'node' : 'node,nginx')).split(',').map((b) => b.trim());
  for (const backend of backends) {
    if (backend !== 'node' && backend !== 'nginx')
      throw new Error(`--backends takes node and/or nginx, not "${backend}"`);
  }
  return {
    quick,
    rounds: Math.round(positive('rounds', values.rounds, quick ? 1 : 5)),
    seconds: Math.round(positive('seconds', values.seconds, quick ? 1 : 5)),
    warmupSeconds: values.warmup === '0' ? 0 : Math.round(positive('warmup', values.warmup, 1)),
    connections: Math.round(positive('connections', values.connections, 64)),
    backends: backends as BackendKind[],
    rings: values.rings?.split(',').map((r) => r.trim()),
  };
}

function missingTools(): string[] {
  return REQUIRED_TOOLS.filter(
    (tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { env: withSbin() }).status !== 0,
  );
}

/** nginx and haproxy live in /usr/sbin, which a non-root PATH may lack. */
function withSbin(): NodeJS.ProcessEnv {
  const path = process.env.PATH ?? '';
  return { ...process.env, PATH: path.split(':').includes('/usr/sbin') ? path : `${path}:/usr/sbin:/sbin` };
}

/** A running HTTP server we measure or load through: a backend, a peer proxy or ringlb. */
interface Target {
  readonly name: string;
  readonly kind: 'direct' | 'nginx' | 'haproxy' | 'ringlb';
  readonly port: number;
  readonly process: Started | undefined;
}

/** Waits until `url` answers 200, failing fast with the process's output if it exits first. */
async function ready(started: Started, url: string, headers: Record<string, string> = {}): Promise<void> {
  let exited: string | undefined;
  void started.exited.then((code) => (exited = code));
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (exited !== undefined)
      throw new Error(`${started.name} exited (${exited}):\n${started.output().slice(-2000)}`);
    const reply = await fetchText(url, { headers, timeoutMs: 1000 }).catch(() => undefined);
    if (reply?.status === 200) return;
    await sleep(50);
  }
  throw new Error(
    `${started.name} did not answer 200 at ${url} within 15 s:\n${started.output().slice(-2000)}`,
  );
}

async function startBackends(
  kind: BackendKind,
  dir: string,
  env: NodeJS.ProcessEnv,
): Promise<{ ports: number[]; started: Started[] }> {
  const ports: number[] = [];
  const started: Started[] = [];
  for (let i = 1; i <= 3; i++) {
    const port = await freePort();
    let backend: Started;
    if (kind === 'node') {
      backend = startGroup(`node backend ${i}`, process.execPath, [RINGLB_MAIN, 'replica'], {
        cpus: PROXY_CPU,
        env: { ...env, SERVER_ID: String(i), PORT: String(port), HOST: '127.0.0.1' },
      });
    } else {
      const conf = join(dir, `nginx-backend-${port}.conf`);
      writeFileSync(conf, nginxBackendConfig(dir, port));
      backend = startGroup(
        `nginx backend ${i}`,
        'nginx',
        ['-p', dir, '-e', join(dir, `nginx-backend-${port}.err`), '-c', conf],
        { cpus: PROXY_CPU, env },
      );
    }
    started.push(backend);
    await ready(backend, `http://127.0.0.1:${port}/heartbeat`);
    ports.push(port);
  }
  return { ports, started };
}

interface RinglbVariant {
  readonly algorithm: string | undefined;
  readonly workers: number | undefined;
}

async function startTargets(
  backends: number[],
  variants: RinglbVariant[],
  dir: string,
  env: NodeJS.ProcessEnv,
): Promise<Target[]> {
  const targets: Target[] = [
    { name: 'direct (one backend)', kind: 'direct', port: backends[0]!, process: undefined },
  ];

  const nginxPort = await freePort();
  const nginxConf = join(dir, 'nginx-proxy.conf');
  writeFileSync(nginxConf, nginxProxyConfig(dir, nginxPort, backends));
  const nginx = startGroup(
    'nginx proxy',
    'nginx',
    ['-p', dir, '-e', join(dir, 'nginx-proxy.err'), '-c', nginxConf],
    { cpus: PROXY_CPU, env },
  );
  await ready(nginx, `http://127.0.0.1:${nginxPort}/home?k=1`);
  targets.push({ name: 'nginx (1 worker)', kind: 'nginx', port: nginxPort, process: nginx });

  const haproxyPort = await freePort();
  const haproxyConf = join(dir, 'haproxy.cfg');
  writeFileSync(haproxyConf, haproxyConfig(haproxyPort, backends));
  const haproxy = startGroup('haproxy', 'haproxy', ['-db', '-f', haproxyConf], { cpus: PROXY_CPU, env });
  await ready(haproxy, `http://127.0.0.1:${haproxyPort}/home?k=1`);
  targets.push({ name: 'HAProxy (1 thread)', kind: 'haproxy', port: haproxyPort, process: haproxy });

  const backendUrls = backends.map((port) => `http://127.0.0.1:${port}`).join(',');
  for (const variant of variants) {
    const port = await freePort();
    const args = [
      '--provider',
      'static',
      '--backends',
      backendUrls,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--log-level',
      'warn',
    ];
    if (variant.algorithm !== undefined) args.push('--ring', variant.algorithm);
    if (variant.workers !== undefined) args.push('--workers', String(variant.workers));
    const name = `ringlb ${variant.algorithm ?? 'classic (no --ring flag)'}${variant.workers === undefined ? '' : ` (${variant.workers} worker${variant.workers > 1 ? 's' : ''})`}`;
    const ringlb = startRinglb(args, { cpus: PROXY_CPU, env });
    await ready(ringlb, `http://127.0.0.1:${port}/home?k=1`, { 'x-request-id': '1' });
    targets.push({ name, kind: 'ringlb', port, process: ringlb });
  }
  return targets;
}

interface Sample extends WrkResult {
  readonly rps: number;
  /** Proxy CPU (all its processes) per request in µs; NaN for the direct run. */
  readonly cpuUsPerRequest: number;
  /** Peak resident memory over the run: all processes of the proxy, and the largest one. */
  readonly rssTotal: number;
  readonly rssMax: number;
}

function processTree(target: Target): number[] {
  return target.process ? [target.process.pid, ...descendants(target.process.pid)] : [];
}

async function measure(target: Target, options: Options, script: string): Promise<Sample> {
  const url = `http://127.0.0.1:${target.port}/`;
  const load = { url, script, connections: options.connections, cpus: LOAD_CPU };
  if (options.warmupSeconds > 0) await runWrk({ ...load, seconds: options.warmupSeconds });
  const cpuOf = () => processTree(target).reduce((sum, pid) => sum + cpuTicks(pid), 0);
  let rssTotal = 0;
  let rssMax = 0;
  const sampleMemory = () => {
    const sizes = processTree(target).map(rssBytes);
    rssTotal = Math.max(
      rssTotal,
      sizes.reduce((a, b) => a + b, 0),
    );
    rssMax = Math.max(rssMax, ...sizes, 0);
  };
  const sampler = setInterval(sampleMemory, 250);
  const cpuBefore = cpuOf();
  try {
    const result = await runWrk({ ...load, seconds: options.seconds });
    const cpuTicksUsed = cpuOf() - cpuBefore;
    sampleMemory();
    const rps = result.requests / (result.durationUs / 1e6);
    const cpuUsPerRequest = target.process
      ? (cpuTicksUsed * (1e6 / CLOCK_TICKS_PER_SECOND)) / result.requests
      : NaN;
    return { ...result, rps, cpuUsPerRequest, rssTotal, rssMax };
  } finally {
    clearInterval(sampler);
  }
}

interface VariantResult {
  readonly backend: BackendKind;
  readonly targets: Target[];
  readonly samples: Map<string, Sample[]>;
}

async function runVariant(
  backend: BackendKind,
  variants: RinglbVariant[],
  options: Options,
  dir: string,
  script: string,
  env: NodeJS.ProcessEnv,
): Promise<VariantResult> {
  console.log(`\n== ${backend} backends ==`);
  const backends = await startBackends(backend, dir, env);
  const targets = await startTargets(backends.ports, variants, dir, env);
  const samples = new Map<string, Sample[]>(targets.map((t) => [t.name, []]));
  try {
    for (let round = 0; round < options.rounds; round++) {
      // A different starting target each round, so slow drift of the machine does not favour one.
      const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
      for (const target of order) {
        const sample = await measure(target, options, script);
        samples.get(target.name)!.push(sample);
        const errors =
          sample.connectErrors +
          sample.readErrors +
          sample.writeErrors +
          sample.statusErrors +
          sample.timeouts;
        console.log(
          `round ${round + 1}/${options.rounds}  ${target.name.padEnd(34)} ${fmt(sample.rps).padStart(8)} req/s  p99 ${fmt(sample.p99 / 1000, 2)} ms` +
            (target.process
              ? `  ${fmt(sample.cpuUsPerRequest, 1)} µs CPU/req  ${fmt(sample.rssTotal / 2 ** 20, 1)} MB`
              : '') +
            (errors > 0 ? `  ${errors} errors` : ''),
        );
      }
    }
  } finally {
    for (const target of targets) if (target.process) await stopGroup(target.process);
    for (const started of backends.started) await stopGroup(started);
  }
  return { backend, targets, samples };
}

/** Median over rounds of the per-round ratio a/b (paired, so drift between rounds cancels). */
function pairedRatio(a: Sample[], b: Sample[], pick: (s: Sample) => number): number {
  return median(a.map((sample, i) => (b[i] ? pick(sample) / pick(b[i]!) : NaN)));
}

function variantReport(result: VariantResult): { text: string; checks: string[] } {
  const rows = result.targets.map((target) => {
    const s = result.samples.get(target.name)!;
    const errors = s.reduce(
      (sum, x) => sum + x.connectErrors + x.readErrors + x.writeErrors + x.statusErrors + x.timeouts,
      0,
    );
    return [
      target.name,
      fmt(median(s.map((x) => x.rps))),
      fmt(median(s.map((x) => x.p50)) / 1000, 2),
      fmt(median(s.map((x) => x.p99)) / 1000, 2),
      fmt(median(s.map((x) => x.p999)) / 1000, 2),
      fmt(median(s.map((x) => x.cpuUsPerRequest)), 1),
      target.process ? fmt(median(s.map((x) => x.rssTotal)) / 2 ** 20, 1) : '–',
      target.process ? fmt(median(s.map((x) => x.rssMax)) / 2 ** 20, 1) : '–',
      String(errors),
    ];
  });
  const table = markdownTable(
    [
      'target',
      'req/s',
      'p50 ms',
      'p99 ms',
      'p99.9 ms',
      'proxy CPU µs/req',
      'RSS MB (all processes)',
      'RSS MB (largest process)',
      'errors',
    ],
    rows,
  );
  const of = (kind: Target['kind']) => result.targets.find((t) => t.kind === kind)!;
  const samplesOf = (target: Target) => result.samples.get(target.name)!;
  const nginx = samplesOf(of('nginx'));
  const haproxy = samplesOf(of('haproxy'));
  const direct = samplesOf(of('direct'));
  const checks: string[] = [];
  const ratioRows = result.targets
    .filter((t) => t.kind === 'ringlb')
    .map((target) => {
      const s = samplesOf(target);
      const vsNginx = pairedRatio(s, nginx, (x) => x.rps);
      const p99VsNginx = pairedRatio(s, nginx, (x) => x.p99);
      const rssMax = median(s.map((x) => x.rssMax)) / 2 ** 20;
      const cpuVsNginx = pairedRatio(s, nginx, (x) => x.cpuUsPerRequest);
      if (!target.name.includes('2 workers')) {
        checks.push(
          `${result.backend} backends, ${target.name}: req/s ÷ nginx ${fmt(vsNginx, 3)} (target ≥ 1.0: ${vsNginx >= 1 ? 'met' : 'not met'}); ` +
            `p99 ÷ nginx p99 ${fmt(p99VsNginx, 3)} (target ≤ 1.2: ${p99VsNginx <= 1.2 ? 'met' : 'not met'}); ` +
            `RSS ${fmt(rssMax, 1)} MB per process (target ≤ 80: ${rssMax <= 80 ? 'met' : 'not met'})`,
        );
      }
      return [
        target.name,
        fmt(vsNginx, 2),
        fmt(
          pairedRatio(s, haproxy, (x) => x.rps),
          2,
        ),
        fmt(
          pairedRatio(s, direct, (x) => x.rps),
          2,
        ),
        fmt(p99VsNginx, 2),
        fmt(cpuVsNginx, 2),
      ];
    });
  const ratios = markdownTable(
    ['ringlb', 'req/s ÷ nginx', 'req/s ÷ HAProxy', 'req/s ÷ direct', 'p99 ÷ nginx p99', 'CPU/req ÷ nginx'],
    ratioRows,
  );
  const workerRows = result.targets.filter((t) => t.kind === 'ringlb' && /\((1|2) workers?\)$/.test(t.name));
  const one = workerRows.find(
    (t) =>
      t.name.endsWith('(1 worker)') &&
      workerRows.some((w) => w.name === t.name.replace('(1 worker)', '(2 workers)')),
  );
  if (one) {
    const two = workerRows.find((w) => w.name === one.name.replace('(1 worker)', '(2 workers)'))!;
    const scaling = pairedRatio(samplesOf(two), samplesOf(one), (x) => x.rps);
    checks.push(
      `${result.backend} backends: 2 workers ÷ 1 worker req/s ${fmt(scaling, 2)} (target ≥ 1.6 where cores allow; here both workers are pinned to CPU ${PROXY_CPU} with the backends, wrk has CPU ${LOAD_CPU}, so no scaling is possible on this 2-core machine)`,
    );
  }
  const described =
    result.backend === 'node'
      ? '3 × `ringlb replica` (node:http, one process each)'
      : '3 × nginx `return 200` (one worker each)';
  return {
    text: `## Backends: ${described}\n\n${table}\n\nRatios (median over rounds of the per-round ratio, all measured in the same run):\n\n${ratios}\n`,
    checks,
  };
}

function describeMachine(options: Options): string {
  const version = (command: string, args: string[]) => {
    const run = spawnSync(command, args, { encoding: 'utf8', env: withSbin() });
    return (
      `${run.stdout}${run.stderr}`
        .split('\n')
        .find((l) => l.trim() !== '')
        ?.trim() ?? '?'
    );
  };
  let commit = '?';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    // not a git checkout
  }
  return [
    `- ${new Date().toISOString()}, commit ${commit}, node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
    `- ${version('nginx', ['-v'])}; ${version('haproxy', ['-v'])}; ${version('wrk', ['--version'])}`,
    `- pinning: every proxy and the 3 backends on CPU ${PROXY_CPU} (taskset), wrk -t1 -c${options.connections} on CPU ${LOAD_CPU}`,
    `- load: GET /home?k=<id> with x-request-id: <id>, 4096 random ids in rotation; nginx hashes $request_uri (consistent), HAProxy the whole URI (consistent), ringlb the x-request-id`,
    `- ${options.rounds} round(s) × ${options.seconds} s per target (after ${options.warmupSeconds} s warm-up each), targets in a rotating order; medians over rounds`,
    `- proxy CPU µs/req: utime+stime of the proxy's processes (/proc/PID/stat) over the run ÷ requests; RSS: peak VmRSS sampled every 250 ms`,
  ].join('\n');
}

async function main(): Promise<void> {
  const opts = options(process.argv.slice(2));
  const missing = missingTools();
  if (missing.length > 0) {
    console.error(
      `bench:proxy needs ${missing.join(', ')} (not found on PATH).\n` +
        'On Debian/Ubuntu: sudo apt-get update && sudo apt-get install -y nginx-light haproxy wrk util-linux',
    );
    process.exit(2);
  }
  if (cpus().length < 2)
    console.warn(
      `only ${cpus().length} CPU: proxy and load generator share it; ratios still hold, absolute numbers do not`,
    );
  assertBuilt();
  const features = ringlbFeatures();
  const algorithms = opts.rings ?? (features.algorithms.length > 0 ? features.algorithms : [undefined]);
  for (const algorithm of algorithms) {
    if (algorithm !== undefined && !features.algorithms.includes(algorithm)) {
      throw new Error(
        `ring "${algorithm}" is not offered by this build (ringlb start --help lists: ${features.algorithms.join(', ') || 'no --ring flag'})`,
      );
    }
  }
  const workers = features.workers ? 1 : undefined;
  const variants: RinglbVariant[] = algorithms.map((algorithm) => ({ algorithm, workers }));
  if (features.workers) variants.push({ algorithm: algorithms[0], workers: 2 });

  const dir = mkdtempSync(join(tmpdir(), 'ringlb-bench-proxy-'));
  const env = withSbin();
  onInterrupt(() => rmSync(dir, { recursive: true, force: true }));
  try {
    const script = join(dir, 'load.lua');
    writeFileSync(script, WRK_SCRIPT);
    const results: VariantResult[] = [];
    for (const backend of opts.backends)
      results.push(await runVariant(backend, variants, opts, dir, script, env));
    const reports = results.map(variantReport);
    const report = [
      `# Proxy benchmark${opts.quick ? ' (quick smoke run: numbers are not meaningful)' : ''}`,
      '',
      'Produced by `npm run bench:proxy`' +
        (process.argv.length > 2 ? ` with \`${process.argv.slice(2).join(' ')}\`` : '') +
        '.',
      '',
      describeMachine(opts),
      '',
      ...reports.map((r) => r.text),
      '## Targets of issue 4',
      '',
      ...reports.flatMap((r) => r.checks).map((c) => `- ${c}`),
      '',
      features.workers
        ? ''
        : '`ringlb start --help` lists no `--workers` flag in this build: the 1 → 2 worker scaling was not measured.\n',
    ].join('\n');
    mkdirSync('reports', { recursive: true });
    writeFileSync(join('reports', 'bench-proxy.md'), report);
    console.log(`\n${report}\nwritten to reports/bench-proxy.md`);
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch(async (error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  await stopAll();
  process.exit(1);
});
