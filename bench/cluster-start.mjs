// A static backend down at start (issue 16's target: serving from the others within 1 s of start,
// that backend in the ring within 2 heartbeats of it answering). Each round spawns `ringlb start
// --provider static` with three backends, the third one
//   - up (the peer: the same start with every backend answering),
//   - refused (nothing listens on its port),
//   - silent (accepts connections and never answers: what a link that drops packets looks like),
// and times from the spawn to the first proxied 200; then the third backend starts answering and
// the time until it is in the ring is measured, in heartbeats. Also measured in the same run: a
// bare Node HTTP server's spawn to its first 200 (the floor no Node program starts under), and the
// same starts with the default workers (one per core) and in etcd mode (a real 3-member etcd on
// loopback). Variants alternate within a round, so a busy machine slows them alike. With
// RINGLB_CLI_BEFORE (another build's dist/cli/main.js) every start is also made with that build, in
// the same rounds, and the report gives this build's time over that one's. Writes
// reports/cluster-start.md.
//   npm run bench:cluster-start [-- rounds]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, get as httpGet } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, sleep, startEtcd, waitFor } from './cluster-lib.mjs';

const ROUNDS = Math.min(20, Math.max(1, Number(process.argv[2] ?? 5)));
const HEARTBEAT_MS = 500;
// RINGLB_CLI: another build's dist/cli/main.js, to compare a change with what it changes.
const MAIN = process.env.RINGLB_CLI ?? fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const BEFORE = process.env.RINGLB_CLI_BEFORE;
const BUILDS = BEFORE ? { this: MAIN, before: BEFORE } : { this: MAIN };
const started = [];
const servers = [];
const dir = mkdtempSync(join(tmpdir(), 'ringlb-bench-start-'));

/** Resolves once a server is listening on 127.0.0.1:port (0: any), with the port. */
function listen(server, port = 0) {
  servers.push(server);
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server.address().port)));
}

const close = (server) => new Promise((resolve) => server.close(() => resolve()));

/** A backend answering its name (and /heartbeat). */
const answering = (name, port) =>
  listen(
    createHttpServer((req, res) => res.end(name)),
    port,
  );

/** A backend that accepts and never answers; `end()` drops what it holds and stops listening. */
async function silentBackend() {
  const held = new Set();
  const server = createNetServer((socket) => {
    held.add(socket);
    socket.on('close', () => held.delete(socket));
  });
  const port = await listen(server);
  return {
    port,
    async end() {
      for (const socket of held) socket.destroy();
      await close(server);
    },
  };
}

/** One GET without keep-alive: the status, or 0 when it failed. */
function status(port, path) {
  return new Promise((resolve) => {
    const req = httpGet({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve(0));
    req.setTimeout(1_000, () => req.destroy());
  });
}

/** Spawns a process and times from the spawn to its first 200 on `port`. */
async function servingAfter(args, port) {
  const at = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  started.push(child);
  const exited = new Promise((_, reject) =>
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`))),
  );
  await Promise.race([
    exited,
    waitFor(
      `${args[0]} to serve`,
      async () => ((await status(port, '/x')) === 200 ? true : undefined),
      30_000,
    ),
  ]);
  return { child, ms: performance.now() - at };
}

async function stop(child) {
  if (child.exitCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await gone;
}

async function ringNames(port) {
  const response = await fetch(`http://127.0.0.1:${port}/dashboard/state`);
  return (await response.json()).ring.members.map((m) => m.name);
}

/** The bare Node server of the same run: spawn to first 200. */
async function bareNode() {
  const port = await freePort();
  const script = `require('http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1')`;
  const { child, ms } = await servingAfter(['-e', script], port);
  await stop(child);
  return ms;
}

/**
 * One start of ringlb with backends a, b and a third in `state`; for a third that is down, the
 * time from its first answer to its entry in the ring as well.
 */
async function ringlbStart(main, state, extra) {
  const a = await answering('a');
  const b = await answering('b');
  const silent = state === 'silent' ? await silentBackend() : undefined;
  const third = silent?.port ?? (state === 'up' ? await answering('c') : await freePort());
  const port = await freePort();
  const backends = [a, b, third].map((p) => `http://127.0.0.1:${p}`).join(',');
  const args = [main, 'start', '--provider', 'static', '--backends', backends, '--host', '127.0.0.1'];
  args.push('--port', String(port), '--heartbeat-interval', String(HEARTBEAT_MS), '--log-level', 'warn');
  const { child, ms } = await servingAfter([...args, ...extra], port);
  let takenInMs;
  try {
    if (state !== 'up') {
      if ((await ringNames(port)).includes('Server 3'))
        throw new Error(`the ${state} backend is in the ring`);
      await silent?.end();
      await answering('c', third);
      const answeredAt = performance.now();
      await waitFor('Server 3 in the ring', async () =>
        (await ringNames(port)).includes('Server 3') ? true : undefined,
      );
      takenInMs = performance.now() - answeredAt;
    }
  } finally {
    await stop(child);
    const used = servers.splice(0);
    for (const server of used) server.closeAllConnections?.();
    await Promise.all(used.map(close));
  }
  return { ms, takenInMs };
}

const percentile = (values, p) => {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
const fmt = (values) =>
  values.length === 0 ? '–' : `${Math.round(percentile(values, 50))} / ${Math.round(Math.max(...values))}`;

async function main() {
  const endpoints = await startEtcd(dir, started);
  const modes = {
    'one process (`--workers 1`)': ['--workers', '1'],
    [`default workers (${availableParallelism()} here)`]: [],
    'etcd mode (`--membership etcd --workers 1`)': [
      '--workers',
      '1',
      '--membership',
      'etcd',
      '--etcd-endpoints',
      endpoints,
    ],
  };
  const states = ['up', 'refused', 'silent'];
  const bare = [];
  const times = new Map();
  for (let round = 0; round < ROUNDS; round++) {
    bare.push(await bareNode());
    for (const [mode, extra] of Object.entries(modes)) {
      for (const state of states) {
        for (const [build, main] of Object.entries(BUILDS)) {
          // Every etcd start is a cluster of its own: no instance finds a set written by another.
          const cluster = mode.startsWith('etcd')
            ? ['--cluster-name', `start-${process.pid}-${round}-${state}-${build}`]
            : [];
          const { ms, takenInMs } = await ringlbStart(main, state, [...extra, ...cluster]);
          const key = `${build}|${mode}|${state}`;
          const entry = times.get(key) ?? { serving: [], takenIn: [] };
          entry.serving.push(ms);
          if (takenInMs !== undefined) entry.takenIn.push(takenInMs);
          times.set(key, entry);
        }
      }
    }
    process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`);
  }
  const bareP50 = percentile(bare, 50);
  const rows = [];
  for (const mode of Object.keys(modes)) {
    for (const build of Object.keys(BUILDS)) {
      const up = percentile(times.get(`${build}|${mode}|up`).serving, 50);
      for (const state of states) {
        const { serving, takenIn } = times.get(`${build}|${mode}|${state}`);
        const p50 = percentile(serving, 50);
        const heartbeats = takenIn.map((ms) => ms / HEARTBEAT_MS);
        const before = BEFORE && build === 'this' ? times.get(`before|${mode}|${state}`).serving : undefined;
        rows.push(
          `| ${mode} | ${BEFORE ? `${build} | ` : ''}${state} | ${fmt(serving)} | ${(p50 / up).toFixed(2)} | ${(p50 / bareP50).toFixed(2)} | ${
            BEFORE ? `${before ? (p50 / percentile(before, 50)).toFixed(2) : '–'} | ` : ''
          }${fmt(takenIn)} | ${heartbeats.length ? Math.max(...heartbeats).toFixed(2) : '–'} |`,
        );
      }
    }
  }
  const report = `# A static backend down at start

\`npm run bench:cluster-start -- ${ROUNDS}\` on ${new Date().toISOString().slice(0, 10)}: \`ringlb start --provider static\`
with three backends on loopback, the third one up (the peer), refused (nothing listens) or silent
(accepts, never answers: a link that drops packets), ${ROUNDS} rounds, variants alternating within a
round. Serving: from the spawn of \`ringlb start\` to its first proxied 200 (p50 / max). Taken in: from
the third backend's first answer to its entry in the ring (heartbeat every ${HEARTBEAT_MS} ms, 2 good
ones in a row needed).${
    BEFORE
      ? ` "before" is the build at \`${BEFORE}\`, started in the same rounds; "p50 / before" is this build's p50 over its.`
      : ''
  } A bare Node HTTP server's spawn to its first 200 in the same run: p50 ${Math.round(bareP50)} ms,
max ${Math.round(Math.max(...bare))} ms (the floor of any Node program's start on this machine).

| mode | ${BEFORE ? 'build | ' : ''}third backend | serving, ms (p50 / max) | p50 / all up | p50 / bare Node | ${BEFORE ? 'p50 / before | ' : ''}taken in after answering, ms (p50 / max) | max, in heartbeats |
|---|---|---|---|---|${BEFORE ? '---|---|' : ''}---|---|
${rows.join('\n')}
`;
  mkdirSync(fileURLToPath(new URL('../reports/', import.meta.url)), { recursive: true });
  writeFileSync(new URL('../reports/cluster-start.md', import.meta.url), report);
  process.stdout.write(report);
}

async function cleanUp() {
  for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
  for (const server of servers) server.closeAllConnections?.();
  await Promise.all(servers.map((server) => close(server).catch(() => undefined)));
  await sleep(100);
  rmSync(dir, { recursive: true, force: true });
}

main().then(
  async () => {
    await cleanUp();
    process.exit(0);
  },
  async (error) => {
    process.stderr.write(`bench:cluster-start failed: ${error.stack}\n`);
    await cleanUp();
    process.exit(1);
  },
);
