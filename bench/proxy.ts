// The proxy benchmark (issues 4 and 14): the same backends, pinning and load through nginx, HAProxy
// and ringlb (its defaults, and `--ring ketama --hash-key uri` as a user coming from nginx sets it),
// plus direct to one backend as the limit, for each workload: GET, POST 1 KiB, a 90/10 mix on the same
// connections, 1 MiB uploads and downloads. Prints and writes reports/bench-proxy.md (and, with
// --cpu-prof, reports/bench-proxy-profile.md). Usage: see PROXY_BENCH_USAGE.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatSummary, summarizeProfile, type CpuProfile } from './lib/cpu-profile.js';
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
import { DOWNLOAD_BYTES, throughput, wrkScript, type Workload } from './lib/workloads.js';
import { DOWNLOAD_FILE, haproxyConfig, nginxBackendConfig, nginxProxyConfig } from './proxy-configs.js';
import {
  PROXY_BENCH_USAGE,
  parseProxyBenchOptions,
  type BackendKind,
  type ProxyBenchOptions,
  type RinglbVariant,
} from './proxy-options.js';
import {
  backendSection,
  targetChecks,
  type BackendResult,
  type Sample,
  type TargetInfo,
  type WorkloadResult,
} from './proxy-report.js';
import { runWrk } from './wrk.js';

const PROXY_CPU = '0';
const LOAD_CPU = '1';
const CLOCK_TICKS_PER_SECOND = 100;
const REQUIRED_TOOLS = ['nginx', 'haproxy', 'wrk', 'taskset'];
const APT_PACKAGES = ['nginx', 'haproxy', 'wrk', 'util-linux'];
const NODE_BACKEND = join(dirname(fileURLToPath(import.meta.url)), 'proxy-backend.js');

/** nginx and haproxy live in /usr/sbin, which a non-root PATH may lack. */
function withSbin(): NodeJS.ProcessEnv {
  const path = process.env.PATH ?? '';
  return { ...process.env, PATH: path.split(':').includes('/usr/sbin') ? path : `${path}:/usr/sbin:/sbin` };
}

function missingTools(): string[] {
  return REQUIRED_TOOLS.filter(
    (tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { env: withSbin() }).status !== 0,
  );
}

/** Installs the peers with apt-get when run as root on Debian/Ubuntu; otherwise says how. */
function ensureTools(): void {
  let missing = missingTools();
  if (missing.length === 0) return;
  const command = `apt-get update && apt-get install -y ${APT_PACKAGES.join(' ')}`;
  const canInstall =
    process.getuid?.() === 0 &&
    spawnSync('sh', ['-c', 'command -v apt-get'], { env: withSbin() }).status === 0;
  if (canInstall) {
    console.log(`bench:proxy needs ${missing.join(', ')}: installing (${command})`);
    spawnSync('sh', ['-c', command], {
      stdio: 'inherit',
      env: { ...withSbin(), DEBIAN_FRONTEND: 'noninteractive' },
    });
    missing = missingTools();
  }
  if (missing.length > 0) {
    console.error(
      `bench:proxy needs ${missing.join(', ')} (not found on PATH).\n` +
        `On Debian/Ubuntu: sudo sh -c '${command}'`,
    );
    process.exit(2);
  }
}

/** A running HTTP server we measure or load through: a backend, a peer proxy or ringlb. */
interface Target extends TargetInfo {
  readonly port: number;
  process: Started | undefined;
  /** ringlb only: starts it (again), with extra node flags. */
  readonly start?: (nodeArgs: readonly string[]) => Promise<Started>;
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
      backend = startGroup(`node backend ${i}`, process.execPath, [NODE_BACKEND, String(port), String(i)], {
        cpus: PROXY_CPU,
        env,
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

async function startTargets(
  backends: number[],
  dir: string,
  env: NodeJS.ProcessEnv,
  workers: boolean,
  variants: readonly RinglbVariant[],
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
      ...(workers ? ['--workers', '1'] : []),
      ...variant.args,
    ];
    const start = async (nodeArgs: readonly string[]) => {
      const ringlb = startRinglb(args, { cpus: PROXY_CPU, env, nodeArgs });
      await ready(ringlb, `http://127.0.0.1:${port}/home?k=1`, { 'x-request-id': '1' });
      return ringlb;
    };
    targets.push({ name: variant.name, kind: 'ringlb', port, process: await start([]), start });
  }
  return targets;
}

function processTree(target: Target): number[] {
  return target.process ? [target.process.pid, ...descendants(target.process.pid)] : [];
}

function largestRss(target: Target): number {
  return Math.max(0, ...processTree(target).map(rssBytes));
}

async function measure(
  target: Target,
  workload: Workload,
  options: ProxyBenchOptions,
  script: string,
): Promise<Sample> {
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
    const errors =
      result.connectErrors + result.readErrors + result.writeErrors + result.statusErrors + result.timeouts;
    return {
      throughput: throughput(workload, result.requests, result.durationUs),
      p50: result.p50,
      p99: result.p99,
      p999: result.p999,
      cpuUsPerRequest: target.process
        ? (cpuTicksUsed * (1e6 / CLOCK_TICKS_PER_SECOND)) / result.requests
        : NaN,
      rssTotal,
      rssMax,
      errors,
    };
  } finally {
    clearInterval(sampler);
  }
}

interface Profiled {
  readonly backend: BackendKind;
  readonly target: string;
  readonly workload: Workload;
  readonly text: string;
}

/** Stops ringlb (which writes its profile on exit) and summarizes the profile it wrote. */
async function collectProfile(target: Target, profileDir: string): Promise<string> {
  if (target.process) await stopGroup(target.process, 10_000);
  target.process = undefined;
  const files = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) return `(no profile was written to ${profileDir})`;
  const profile = JSON.parse(readFileSync(join(profileDir, files[0]!), 'utf8')) as CpuProfile;
  return formatSummary(summarizeProfile(profile, 30), target.name);
}

async function runBackend(
  backend: BackendKind,
  options: ProxyBenchOptions,
  dir: string,
  env: NodeJS.ProcessEnv,
  workers: boolean,
  profiles: Profiled[],
): Promise<BackendResult> {
  console.log(`\n== ${backend} backends ==`);
  const backends = await startBackends(backend, dir, env);
  const targets = await startTargets(backends.ports, dir, env, workers, options.variants);
  const workloads: WorkloadResult[] = [];
  const rssAfter = new Map<string, number>();
  try {
    for (const [w, workload] of options.workloads.entries()) {
      const script = join(dir, `${workload.name}.lua`);
      writeFileSync(script, wrkScript(workload));
      const profileDirs = new Map<string, string>();
      if (options.cpuProf) {
        // A fresh ringlb per workload, so that each profile holds one workload only.
        for (const [i, target] of targets.entries()) {
          if (!target.start) continue;
          if (target.process) await stopGroup(target.process);
          const profileDir = join(dir, 'profiles', backend, workload.name, String(i));
          mkdirSync(profileDir, { recursive: true });
          profileDirs.set(target.name, profileDir);
          target.process = await target.start(['--cpu-prof', `--cpu-prof-dir=${profileDir}`]);
        }
      }
      const samples = new Map<string, Sample[]>(targets.map((t) => [t.name, []]));
      for (let round = 0; round < options.rounds; round++) {
        // A different starting target each round, so slow drift of the machine does not favour one.
        const shift = round + w;
        const order = targets.map((_, i) => targets[(i + shift) % targets.length]!);
        for (const target of order) {
          const sample = await measure(target, workload, options, script);
          samples.get(target.name)!.push(sample);
          console.log(
            `${workload.name.padEnd(10)} round ${round + 1}/${options.rounds}  ${target.name.padEnd(36)} ` +
              `${sample.throughput.toFixed(workload.unit === 'MiB/s' ? 1 : 0).padStart(8)} ${workload.unit}  ` +
              `p99 ${(sample.p99 / 1000).toFixed(2)} ms` +
              (target.process
                ? `  ${sample.cpuUsPerRequest.toFixed(1)} µs CPU/req  ${(sample.rssMax / 2 ** 20).toFixed(1)} MB`
                : '') +
              (sample.errors > 0 ? `  ${sample.errors} errors` : ''),
          );
        }
      }
      workloads.push({ workload, samples });
      for (const target of targets) {
        const profileDir = profileDirs.get(target.name);
        if (!profileDir) continue;
        const text = await collectProfile(target, profileDir);
        console.log(`\n${workload.title}, ${text}\n`);
        profiles.push({ backend, target: target.name, workload, text });
      }
    }
    // With --cpu-prof every ringlb was restarted per workload: its RSS after all of them means nothing.
    for (const target of targets) if (target.process) rssAfter.set(target.name, largestRss(target));
  } finally {
    for (const target of targets) if (target.process) await stopGroup(target.process);
    for (const started of backends.started) await stopGroup(started);
  }
  return { backend, targets, workloads, rssAfter };
}

function describeMachine(options: ProxyBenchOptions): string {
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
    '- load: paths `/home/<id>?k=<id>` (`/upload/…`, `/download/…`) with `x-request-id: <id>`, 4096 random ids in rotation (48 for the 1 MiB uploads, which wrk holds in memory);',
    '  nginx hashes `$request_uri` (consistent, upstream keep-alive 64, `proxy_request_buffering off`, no temporary files), HAProxy the whole URI (consistent, `http-reuse always`),',
    `  ringlb: ${options.variants.map((v) => `\`${v.name}\``).join(', ')} (the defaults: classic ring, \`x-request-id\`, hot keys on); ringlb runs \`--provider static --workers 1\` with metrics on (its default)`,
    "- workloads: GET; POST 1 KiB; 90 % GET / 10 % POST 1 KiB, one in ten requests of wrk's single thread, so every connection carries both; POST 1 MiB; GET of a 1 MiB body",
    `- ${options.rounds} round(s) × ${options.seconds} s per target and workload (after ${options.warmupSeconds} s warm-up each), targets in a rotating order; medians over rounds`,
    "- proxy CPU µs/req: utime+stime of the proxy's processes (/proc/PID/stat) over the run ÷ requests; RSS: VmRSS (peak sampled every 250 ms, and after the last workload)",
    '- MiB/s: 1 MiB payloads moved per second (2^20 bytes)',
  ].join('\n');
}

async function main(): Promise<void> {
  let opts: ProxyBenchOptions;
  try {
    opts = parseProxyBenchOptions(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\nusage: ${PROXY_BENCH_USAGE}`);
    process.exit(2);
  }
  ensureTools();
  if (cpus().length < 2)
    console.warn(
      `only ${cpus().length} CPU: proxy and load generator share it; ratios still hold, absolute numbers do not`,
    );
  assertBuilt();
  const features = ringlbFeatures();

  const dir = mkdtempSync(join(tmpdir(), 'ringlb-bench-proxy-'));
  const env = withSbin();
  onInterrupt(() => rmSync(dir, { recursive: true, force: true }));
  try {
    // nginx's workers run as an unprivileged user: they must be able to read the download file.
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, dirname(DOWNLOAD_FILE)), { recursive: true });
    writeFileSync(join(dir, DOWNLOAD_FILE), Buffer.alloc(DOWNLOAD_BYTES, 'z'));
    const results: BackendResult[] = [];
    const profiles: Profiled[] = [];
    for (const backend of opts.backends)
      results.push(await runBackend(backend, opts, dir, env, features.workers, profiles));
    const described = (backend: BackendKind) =>
      backend === 'node'
        ? '3 × Node `bench/proxy-backend.ts` (node:http, one process each)'
        : '3 × nginx `return 200`, 1 MiB static file for downloads, uploads read whole before the answer (one worker each); targets are judged here';
    const judged = results.find((r) => r.backend === 'nginx') ?? results[0]!;
    const checks = targetChecks(judged);
    const report = [
      `# Proxy benchmark${opts.quick ? ' (quick smoke run: numbers are not meaningful)' : ''}`,
      '',
      'Produced by `npm run bench:proxy`' +
        (process.argv.length > 2 ? ` with \`${process.argv.slice(2).join(' ')}\`` : '') +
        '.',
      '',
      describeMachine(opts),
      '',
      `## Targets of issue 14 (${judged.backend} backends)`,
      '',
      ...checks.map((c) => `- ${c.text}`),
      '',
      ...results.map((r) => backendSection(r, described(r.backend))),
    ].join('\n');
    mkdirSync('reports', { recursive: true });
    writeFileSync(join('reports', 'bench-proxy.md'), report);
    console.log(`\n${report}\nwritten to reports/bench-proxy.md`);
    if (profiles.length > 0) {
      const profileReport = [
        '# Where ringlb spends its CPU (`npm run bench:proxy -- --cpu-prof`)',
        '',
        describeMachine(opts),
        '',
        'Shares are of the busy (non-idle) samples of one ringlb process serving one workload. Time in',
        '`writev`/`writeBuffer`/`read` is inside the system calls (loopback TCP), which every proxy pays.',
        '',
        ...profiles.map(
          (p) => `## ${p.workload.title}, ${p.backend} backends\n\n\`\`\`\n${p.text}\n\`\`\`\n`,
        ),
      ].join('\n');
      writeFileSync(join('reports', 'bench-proxy-profile.md'), profileReport);
      console.log('profiles written to reports/bench-proxy-profile.md');
    }
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
