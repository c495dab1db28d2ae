// The HTTP/2 benchmark (issue 15): ringlb and nginx (1 worker each) in front of the same HTTP/1.1
// nginx backends, with h2load, over h2c (prior knowledge) and TLS with ALPN h2; gRPC unary calls
// through ringlb and through nginx's grpc_pass to the same gRPC echo backend; and a bounded
// rapid-reset flood from one client while h2load measures everyone else's latency; and WebSocket
// echo round trips through both to the same Node echo backend. Every workload
// runs against both peers in one run. Prints and writes reports/bench-h2.md. Usage: H2_BENCH_USAGE.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connect } from 'node:http2';
import { rapidResetFlood, type FloodResult } from './h2-flood.js';
import { nginxH2Config, type H2NginxPorts } from './h2-configs.js';
import { runH2load, type H2loadResult } from './h2load.js';
import { freePort, sleep } from './lib/net.js';
import {
  cpuTicks,
  descendants,
  onInterrupt,
  rssBytes,
  startGroup,
  stopAll,
  type Started,
} from './lib/processes.js';
import { assertBuilt, startRinglb } from './lib/ringlb.js';
import { fmt, markdownTable } from './lib/stats.js';
import { nginxBackendConfig } from './proxy-configs.js';

const PROXY_CPU = '0';
const LOAD_CPU = '1';
const CLOCK_TICKS_PER_SECOND = 100;
const REQUIRED_TOOLS = ['nginx', 'h2load', 'openssl', 'taskset'];
const GRPC_BACKEND = join(dirname(fileURLToPath(import.meta.url)), 'h2-grpc-backend.js');
const WS_BACKEND = join(dirname(fileURLToPath(import.meta.url)), 'h2-ws-backend.js');
const WS_LOAD = join(dirname(fileURLToPath(import.meta.url)), 'h2-ws-load.js');
/** WebSockets the echo workload keeps busy (each one message in flight). */
const WS_CONNECTIONS = 64;
const REPORT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'reports', 'bench-h2.md');
/** Paths h2load spreads its requests over, so that both proxies' hashes use every backend. */
const PATHS = Array.from({ length: 12 }, (_, i) => `/bench/${i}`);

export const H2_BENCH_USAGE =
  'npm run bench:h2 [-- --quick] [--seconds S] [--warmup S] [--connections N] [--streams N]\n' +
  '                 [--workloads h2c,tls,grpc,ws,flood] [--flood-streams N]';

interface Options {
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly connections: number;
  readonly streams: number;
  readonly workloads: readonly string[];
  readonly floodStreams: number;
}

const WORKLOADS = ['h2c', 'tls', 'grpc', 'ws', 'flood'];

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      streams: { type: 'string' },
      workloads: { type: 'string' },
      'flood-streams': { type: 'string' },
    },
    strict: true,
  });
  const whole = (name: string, raw: string | undefined, fallback: number, min: number) => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min)
      throw new Error(`--${name} takes a whole number ≥ ${min}, not "${raw}"`);
    return value;
  };
  const quick = values.quick ?? false;
  const workloads = (values.workloads ?? WORKLOADS.join(',')).split(',').map((w) => w.trim());
  for (const workload of workloads) {
    if (!WORKLOADS.includes(workload))
      throw new Error(`--workloads takes ${WORKLOADS.join(', ')}, not "${workload}"`);
  }
  return {
    seconds: whole('seconds', values.seconds, quick ? 2 : 5, 1),
    warmupSeconds: whole('warmup', values.warmup, 3, 0),
    connections: whole('connections', values.connections, 32, 1),
    streams: whole('streams', values.streams, 16, 1),
    workloads,
    floodStreams: whole('flood-streams', values['flood-streams'], 20_000, 100),
  };
}

function withSbin(): NodeJS.ProcessEnv {
  const path = process.env.PATH ?? '';
  return { ...process.env, PATH: path.split(':').includes('/usr/sbin') ? path : `${path}:/usr/sbin:/sbin` };
}

function ensureTools(): void {
  const missing = REQUIRED_TOOLS.filter(
    (tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { env: withSbin() }).status !== 0,
  );
  if (missing.length === 0) return;
  console.error(
    `bench:h2 needs ${missing.join(', ')} (not found on PATH).\n` +
      `On Debian/Ubuntu: sudo apt-get install -y nginx nghttp2-client openssl util-linux`,
  );
  process.exit(2);
}

/** Waits until an HTTP/2 GET (h2c or TLS) on `port` answers 200, or the process exits. */
async function readyH2(started: Started, url: string, headers: Record<string, string> = {}): Promise<void> {
  let exited: string | undefined;
  void started.exited.then((code) => (exited = code));
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new Error(`${started.name} exited (${exited}):\n${started.output()}`);
    const status = await h2Status(url, headers).catch(() => 0);
    if (status === 200) return;
    await sleep(100);
  }
  throw new Error(`${started.name} did not answer 200 at ${url} within 15 s:\n${started.output()}`);
}

/** Waits until an HTTP/1.1 GET on `url` answers 200, or the process exits. */
async function readyHttp1(started: Started, url: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  let exited: string | undefined;
  void started.exited.then((code) => (exited = code));
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new Error(`${started.name} exited (${exited}):\n${started.output()}`);
    const status = await fetch(url)
      .then((response) => response.status)
      .catch(() => 0);
    if (status === 200) return;
    await sleep(100);
  }
  throw new Error(`${started.name} did not answer 200 at ${url} within 15 s:\n${started.output()}`);
}

function h2Status(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const session = connect(url, { rejectUnauthorized: false });
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error('timeout'));
    }, 2_000);
    session.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    const stream = session.request({ ':path': '/bench/ready', ...headers });
    stream.on('response', (head) => {
      clearTimeout(timer);
      session.destroy();
      resolve(Number(head[':status']));
    });
    stream.on('error', reject);
    stream.end();
  });
}

/** A gRPC unary call's status through a proxy (h2load sees only the HTTP status). */
function grpcStatus(url: string, message: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const session = connect(url);
    session.on('error', reject);
    const stream = session.request({
      ':method': 'POST',
      ':path': '/bench.Echo/Unary',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    stream.on('trailers', (trailers) => {
      session.destroy();
      resolve(String(trailers['grpc-status']));
    });
    stream.on('error', reject);
    stream.resume();
    stream.end(message);
  });
}

/** CPU ticks of a process and everything it started (nginx's workers, ringlb's children). */
function groupTicks(pid: number): number {
  return [pid, ...descendants(pid)].reduce((sum, p) => sum + cpuTicks(p), 0);
}

function groupRss(pid: number): number {
  return [pid, ...descendants(pid)].reduce((sum, p) => sum + rssBytes(p), 0);
}

interface Peer {
  readonly name: 'nginx' | 'ringlb';
  readonly process: Started;
  readonly url: string;
}

interface Measured extends H2loadResult {
  readonly cpuUsPerRequest: number;
}

async function measure(peer: Peer, run: Omit<Parameters<typeof runH2load>[0], 'urls'>): Promise<Measured> {
  const before = groupTicks(peer.process.pid);
  const started = performance.now();
  const result = await runH2load({ ...run, urls: PATHS.map((path) => `${peer.url}${path}`) });
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = (groupTicks(peer.process.pid) - before) / CLOCK_TICKS_PER_SECOND;
  // The warm-up's requests are not in h2load's count: scale its rate over the whole run.
  const requests = result.reqPerSec * seconds;
  return { ...result, cpuUsPerRequest: requests > 0 ? (cpuSeconds * 1e6) / requests : NaN };
}

/** WebSocket echo round trips through a peer (the load in its own process, on the load CPU). */
async function measureWs(
  peer: Peer,
  port: number,
  seconds: number,
  warmupSeconds: number,
): Promise<Measured> {
  const before = groupTicks(peer.process.pid);
  const load = startGroup(
    'WebSocket load',
    process.execPath,
    [WS_LOAD, String(port), String(WS_CONNECTIONS), String(seconds), String(warmupSeconds)],
    { cpus: LOAD_CPU },
  );
  const code = await load.exited;
  const cpuSeconds = (groupTicks(peer.process.pid) - before) / CLOCK_TICKS_PER_SECOND;
  if (code !== '0') throw new Error(`the WebSocket load exited with ${code}:\n${load.output().slice(-2000)}`);
  const result = JSON.parse(load.output().trim().split('\n').pop()!) as {
    roundTrips: number;
    perSecond: number;
    p50: number;
    p99: number;
    errors: number;
  };
  // The warm-up's round trips are not counted: scale the rate over the whole run, as for h2load.
  const all = result.perSecond * (seconds + warmupSeconds);
  return {
    reqPerSec: result.perSecond,
    succeeded: result.roundTrips,
    errors: result.errors,
    p50: result.p50,
    p99: result.p99,
    cpuUsPerRequest: all > 0 ? (cpuSeconds * 1e6) / all : NaN,
  };
}

/** A framed gRPC message (uncompressed, 4-byte length) of `size` bytes of payload. */
function grpcMessage(size: number): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(size, 1);
  return Buffer.concat([head, Buffer.alloc(size, 0x61)]);
}

interface Row {
  readonly workload: string;
  readonly nginx: Measured;
  readonly ringlb: Measured;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  ensureTools();
  assertBuilt();
  const env = withSbin();
  const dir = mkdtempSync(join(tmpdir(), 'ringlb-bench-h2-'));
  onInterrupt(() => rmSync(dir, { recursive: true, force: true }));
  try {
    for (const sub of ['tmp-h2-body', 'www']) mkdirSync(join(dir, sub), { recursive: true });
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
        ...['-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'],
        ...['-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
      ],
      { stdio: 'ignore' },
    );

    // The same three HTTP/1.1 nginx backends for both proxies, on the proxies' CPU.
    const backends: number[] = [];
    for (let i = 1; i <= 3; i++) {
      const port = await freePort();
      const conf = join(dir, `nginx-backend-${port}.conf`);
      writeFileSync(conf, nginxBackendConfig(dir, port));
      startGroup(`nginx backend ${i}`, 'nginx', ['-p', dir, '-e', join(dir, `b${port}.err`), '-c', conf], {
        cpus: PROXY_CPU,
        env,
      });
      backends.push(port);
    }
    // The gRPC echo backend is Node: unpinned, so that it does not take the proxies' CPU from them.
    const grpcPort = await freePort();
    const grpcBackend = startGroup('gRPC backend', process.execPath, [GRPC_BACKEND, String(grpcPort)], {
      env,
    });
    await readyH2(grpcBackend, `http://127.0.0.1:${grpcPort}`);

    const wsPort = await freePort();
    const wsBackend = startGroup('WebSocket backend', process.execPath, [WS_BACKEND, String(wsPort)], {
      env,
    });
    await readyHttp1(wsBackend, `http://127.0.0.1:${wsPort}/`);

    const ports: H2NginxPorts = {
      h2c: await freePort(),
      tls: await freePort(),
      grpc: await freePort(),
      ws: await freePort(),
    };
    const conf = join(dir, 'nginx-h2.conf');
    let modern = true;
    writeFileSync(conf, nginxH2Config(dir, ports, backends, grpcPort, wsPort, { cert, key }, modern));
    if (spawnSync('nginx', ['-t', '-p', dir, '-e', join(dir, 't.err'), '-c', conf], { env }).status !== 0) {
      modern = false;
      writeFileSync(conf, nginxH2Config(dir, ports, backends, grpcPort, wsPort, { cert, key }, modern));
    }
    const nginx = startGroup('nginx', 'nginx', ['-p', dir, '-e', join(dir, 'nginx.err'), '-c', conf], {
      cpus: PROXY_CPU,
      env,
    });
    await readyH2(nginx, `http://127.0.0.1:${ports.h2c}`);

    const backendUrls = backends.map((port) => `http://127.0.0.1:${port}`).join(',');
    const ringlb = async (name: string, args: string[], url: string) => {
      // A saturated event loop can run a heartbeat's timeout before its answer: the default 500 ms
      // would take healthy backends out of the ring in the middle of a run (nginx checks none here).
      const base = [
        '--host',
        '127.0.0.1',
        '--workers',
        '1',
        '--log-level',
        'warn',
        '--heartbeat-timeout',
        '3000',
      ];
      const started = startRinglb([...base, ...args], {
        cpus: PROXY_CPU,
        env,
      });
      await readyH2(started, url);
      return { name, started, url };
    };
    const h2cPort = await freePort();
    const tlsPort = await freePort();
    const grpcRinglbPort = await freePort();
    const wanted = new Set(options.workloads);
    const rows: Row[] = [];
    const run = {
      seconds: options.seconds,
      warmupSeconds: options.warmupSeconds,
      connections: options.connections,
      streams: options.streams,
      cpus: LOAD_CPU,
      logFile: join(dir, 'h2load.log'),
    };
    const both = async (workload: string, nginxPeer: Peer, ringlbPeer: Peer, extra: object = {}) => {
      // Alternating which goes first would need rounds; one order, nginx first, as bench:proxy does.
      const a = await measure(nginxPeer, { ...run, ...extra });
      const b = await measure(ringlbPeer, { ...run, ...extra });
      rows.push({ workload, nginx: a, ringlb: b });
      if (b.errors > 0) console.log(`ringlb's log:\n${ringlbPeer.process.output().slice(-3000)}`);
      console.log(
        `${workload}: nginx ${fmt(a.reqPerSec)} req/s, ringlb ${fmt(b.reqPerSec)} req/s (${fmt(b.reqPerSec / a.reqPerSec, 2)}×), errors ${a.errors}/${b.errors}`,
      );
    };

    let h2cRinglb: Awaited<ReturnType<typeof ringlb>> | undefined;
    if (wanted.has('h2c') || wanted.has('flood')) {
      h2cRinglb = await ringlb(
        'ringlb h2c',
        ['--port', String(h2cPort), '--provider', 'static', '--backends', backendUrls, '--h2c'],
        `http://127.0.0.1:${h2cPort}`,
      );
    }
    if (wanted.has('h2c') && h2cRinglb) {
      await both(
        `h2c (h2load -c${options.connections} -m${options.streams})`,
        { name: 'nginx', process: nginx, url: `http://127.0.0.1:${ports.h2c}` },
        { name: 'ringlb', process: h2cRinglb.started, url: h2cRinglb.url },
      );
    }
    if (wanted.has('tls')) {
      const tls = await ringlb(
        'ringlb TLS',
        [
          '--port',
          String(tlsPort),
          '--provider',
          'static',
          '--backends',
          backendUrls,
          '--tls-cert',
          cert,
          '--tls-key',
          key,
        ],
        `https://127.0.0.1:${tlsPort}`,
      );
      await both(
        `TLS h2, ALPN (h2load -c${options.connections} -m${options.streams})`,
        { name: 'nginx', process: nginx, url: `https://127.0.0.1:${ports.tls}` },
        { name: 'ringlb', process: tls.started, url: tls.url },
      );
    }
    if (wanted.has('grpc')) {
      const grpc = await ringlb(
        'ringlb gRPC',
        [
          '--port',
          String(grpcRinglbPort),
          '--provider',
          'static',
          '--backends',
          `h2c://127.0.0.1:${grpcPort}`,
          '--h2c',
        ],
        `http://127.0.0.1:${grpcRinglbPort}`,
      );
      const message = grpcMessage(100);
      const dataFile = join(dir, 'grpc-message.bin');
      writeFileSync(dataFile, message);
      for (const url of [`http://127.0.0.1:${ports.grpc}`, grpc.url]) {
        const status = await grpcStatus(url, message);
        if (status !== '0') throw new Error(`a gRPC call through ${url} got grpc-status ${status}`);
      }
      await both(
        `gRPC unary, 100 B (h2load -d, vs nginx grpc_pass)`,
        { name: 'nginx', process: nginx, url: `http://127.0.0.1:${ports.grpc}` },
        { name: 'ringlb', process: grpc.started, url: grpc.url },
        { dataFile, headers: ['content-type: application/grpc', 'te: trailers'] },
      );
    }

    if (wanted.has('ws')) {
      const wsRinglbPort = await freePort();
      const started = startRinglb(
        [
          ...['--host', '127.0.0.1', '--workers', '1', '--log-level', 'warn', '--heartbeat-timeout', '3000'],
          ...[
            '--port',
            String(wsRinglbPort),
            '--provider',
            'static',
            '--backends',
            `http://127.0.0.1:${wsPort}`,
          ],
        ],
        { cpus: PROXY_CPU, env },
      );
      await readyHttp1(started, `http://127.0.0.1:${wsRinglbPort}/bench/ready`);
      const nginxPeer: Peer = { name: 'nginx', process: nginx, url: '' };
      const ringlbPeer: Peer = { name: 'ringlb', process: started, url: '' };
      const a = await measureWs(nginxPeer, ports.ws, options.seconds, options.warmupSeconds);
      const b = await measureWs(ringlbPeer, wsRinglbPort, options.seconds, options.warmupSeconds);
      rows.push({
        workload: `WebSocket echo, 32 B (${WS_CONNECTIONS} connections, closed loop)`,
        nginx: a,
        ringlb: b,
      });
      console.log(
        `ws: nginx ${fmt(a.reqPerSec)} round trips/s, ringlb ${fmt(b.reqPerSec)} (${fmt(b.reqPerSec / a.reqPerSec, 2)}×), errors ${a.errors}/${b.errors}`,
      );
    }

    let flood: { clean: Measured; flooded: Measured; attack: FloodResult } | undefined;
    if (wanted.has('flood') && h2cRinglb) {
      const peer: Peer = { name: 'ringlb', process: h2cRinglb.started, url: h2cRinglb.url };
      // Fewer, lighter clients than the throughput runs: latency, not saturation, is what is judged.
      const light = { ...run, connections: 8, streams: 4 };
      const clean = await measure(peer, light);
      const attacking = rapidResetFlood(
        h2cPort,
        options.floodStreams,
        (options.seconds + options.warmupSeconds) * 1000,
      );
      const flooded = await measure(peer, light);
      const attack = await attacking;
      flood = { clean, flooded, attack };
      console.log(
        `rapid reset: p99 clean ${fmt(clean.p99 / 1000, 2)} ms, under the flood ${fmt(flooded.p99 / 1000, 2)} ms (${fmt(flooded.p99 / clean.p99, 2)}×); ${attack.streams} streams on ${attack.connections} connections, ${attack.calmed} GOAWAY ENHANCE_YOUR_CALM`,
      );
    }
    const rss = h2cRinglb ? groupRss(h2cRinglb.started.pid) : NaN;
    writeReport(options, rows, flood, rss);
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

function writeReport(
  options: Options,
  rows: readonly Row[],
  flood: { clean: Measured; flooded: Measured; attack: FloodResult } | undefined,
  rss: number,
): void {
  const ratio = (a: number, b: number) => fmt(a / b, 2);
  const table = markdownTable(
    [
      'workload',
      'nginx req/s',
      'ringlb req/s',
      'ringlb ÷ nginx',
      'errors nginx / ringlb',
      'p99 ms nginx / ringlb',
      'CPU µs/req nginx / ringlb',
    ],
    rows.map((row) => [
      row.workload,
      fmt(row.nginx.reqPerSec),
      fmt(row.ringlb.reqPerSec),
      ratio(row.ringlb.reqPerSec, row.nginx.reqPerSec),
      `${row.nginx.errors} / ${row.ringlb.errors}`,
      `${fmt(row.nginx.p99 / 1000, 2)} / ${fmt(row.ringlb.p99 / 1000, 2)}`,
      `${fmt(row.nginx.cpuUsPerRequest)} / ${fmt(row.ringlb.cpuUsPerRequest)}`,
    ]),
  );
  const lines = [
    '# bench:h2',
    '',
    `Run ${new Date().toISOString()} with \`npm run bench:h2 -- ${process.argv.slice(2).join(' ')}\`.`,
    '',
    `- ringlb (\`--workers 1\`, defaults but \`--heartbeat-timeout 3000\`) and nginx (1 worker, \`keepalive_requests 1000000\`, upstream keep-alive 64) in front of the same 3 HTTP/1.1 nginx backends; both proxies and the backends on CPU ${PROXY_CPU}, h2load -t1 on CPU ${LOAD_CPU}`,
    `- h2load: ${options.seconds} s after ${options.warmupSeconds} s warm-up, ${options.connections} connections × ${options.streams} streams, over ${PATHS.length} paths`,
    '- gRPC: h2load posts one framed 100-byte message with gRPC headers; the backend is a Node HTTP/2 gRPC echo server (unpinned), reached by ringlb as `h2c://` and by nginx with `grpc_pass`',
    `- WebSocket echo: ${WS_CONNECTIONS} WebSockets (over 12 paths), each sending a 32-byte text frame and waiting for its echo before the next, for the same seconds; the backend is a Node echo server (unpinned); ringlb reaches it on the raw-socket tunnel, nginx with \`proxy_pass\` and the Upgrade headers; "req/s" there is round trips/s, p99 their latency`,
    '- CPU µs per request: the proxy process and its children, from /proc, over the run',
    '',
    table,
    '',
  ];
  if (flood) {
    lines.push(
      '## Rapid reset (CVE-2023-44487)',
      '',
      `h2load with 8 connections × 4 streams against ringlb (h2c), once clean and once while one client opens and resets ${flood.attack.streams} streams (20 per write, a new connection whenever one is closed).`,
      '',
      markdownTable(
        ['run', 'req/s', 'p50 ms', 'p99 ms', 'errors'],
        [
          [
            'clean',
            fmt(flood.clean.reqPerSec),
            fmt(flood.clean.p50 / 1000, 2),
            fmt(flood.clean.p99 / 1000, 2),
            String(flood.clean.errors),
          ],
          [
            'under the flood',
            fmt(flood.flooded.reqPerSec),
            fmt(flood.flooded.p50 / 1000, 2),
            fmt(flood.flooded.p99 / 1000, 2),
            String(flood.flooded.errors),
          ],
        ],
      ),
      '',
      `p99 under the flood ÷ clean: **${ratio(flood.flooded.p99, flood.clean.p99)}** (target ≤ 2). The flood used ${flood.attack.connections} connections; ${flood.attack.calmed} of them were ended with GOAWAY ENHANCE_YOUR_CALM.`,
      '',
    );
  }
  if (Number.isFinite(rss))
    lines.push(`ringlb (h2c instance) RSS after the runs: ${fmt(rss / 2 ** 20)} MiB.`, '');
  const text = lines.join('\n');
  console.log(`\n${text}`);
  mkdirSync(dirname(REPORT), { recursive: true });
  writeFileSync(REPORT, text);
  console.log(`wrote ${REPORT}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
