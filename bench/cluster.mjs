// Shared membership through etcd: a real 3-member etcd cluster and three ringlb instances
// (`--membership etcd --workers 1`) on loopback. Measures, written to reports/cluster.md:
//   - propagation: from sending /add to one instance until every other instance routes a sample of
//     keys identically (p50/p99 over several adds), against the reference of the same /add on a
//     `--membership local` balancer in this run (the time to start one replica);
//   - routing disagreements between the instances over many keys while membership is stable;
//   - leader fail-over: SIGKILL of the leader while a bounded load runs through the survivors: time
//     to a new leader, failed requests, replica processes before and after (duplicates, orphans).
//   npm run bench:cluster [-- --quick]
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { sleep, startEtcd, waitFor } from './cluster-lib.mjs';

const QUICK = process.argv.includes('--quick');
const ADDS = QUICK ? 5 : 20;
const KEYS = QUICK ? 10_000 : 100_000;
const SAMPLE = 200;
const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const MARK = randomUUID();
const started = [];
const dir = mkdtempSync(join(tmpdir(), 'ringlb-bench-etcd-'));

async function startInstance(...args) {
  const child = spawn(
    process.execPath,
    [MAIN, 'start', '--host', '127.0.0.1', '--port', '0', '--workers', '1', ...args],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, RINGLB_BENCH_RUN: MARK },
    },
  );
  started.push(child);
  const port = await new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop();
      for (const line of lines) if (line.includes('"ringlb listening"')) resolve(JSON.parse(line).port);
    });
    child.once('exit', (code) => reject(new Error(`ringlb exited with ${code}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return { child, url, pool: new Pool(url, { connections: 32 }) };
}

/** Replica processes this run started (they outlive the instances by design). */
function replicaPids() {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0');
      if (env.includes(`RINGLB_BENCH_RUN=${MARK}`) && env.includes('RINGLB_REPLICA_DETACHED=1'))
        pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

async function get(instance, path, headers = {}) {
  const { statusCode, body, headers: h } = await instance.pool.request({ path, method: 'GET', headers });
  return { status: statusCode, text: await body.text(), headers: h };
}

async function post(instance, path, json) {
  const { statusCode, body } = await instance.pool.request({
    path,
    method: 'POST',
    body: JSON.stringify(json),
    headers: { 'content-type': 'application/json' },
  });
  return { status: statusCode, body: JSON.parse(await body.text()) };
}

const route = async (instance, key) => (await get(instance, '/home', { 'x-request-id': String(key) })).text;

/** Routes of `keys` through one instance, 64 at a time. */
async function routes(instance, keys) {
  const out = new Array(keys.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < keys.length) {
        const k = next++;
        out[k] = await route(instance, keys[k]);
      }
    }),
  );
  return out;
}

const keyAt = (i) => 1 + ((i * 2654435761) % 4_000_000_000);
const sampleKeys = Array.from({ length: SAMPLE }, (_, i) => keyAt(i + 7));
const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
const role = async (instance) => (await get(instance, '/rep')).headers['x-ringlb-membership'];

async function main() {
  // Reference: the same /add on a local balancer (starting one replica and its first heartbeat).
  const local = await startInstance('--replicas', '3');
  const localTimes = [];
  for (let i = 0; i < ADDS; i++) {
    const at = performance.now();
    const reply = await post(local, '/add', { n: 1, hostnames: [`ref-${i}`] });
    if (reply.status !== 200) throw new Error(`local /add: ${JSON.stringify(reply.body)}`);
    localTimes.push(performance.now() - at);
    await post(local, '/rm', { n: 1, hostnames: [`ref-${i}`] });
  }
  local.child.kill('SIGTERM');

  const endpoints = await startEtcd(dir, started);
  const cluster = `bench-${process.pid}`;
  const instances = [];
  for (let i = 0; i < 3; i++) {
    instances.push(
      await startInstance('--membership', 'etcd', '--etcd-endpoints', endpoints, '--cluster-name', cluster),
    );
  }
  await waitFor('three instances with 3 replicas', async () => {
    const reps = await Promise.all(instances.map((i) => get(i, '/rep')));
    return reps.every((r) => JSON.parse(r.text).message.N === 3) ? true : undefined;
  });

  // Propagation: /add through instance i % 3, then every other instance routes the sample alike.
  const propagation = [];
  for (let i = 0; i < ADDS; i++) {
    const via = instances[i % 3];
    const others = instances.filter((x) => x !== via);
    const name = `p-${i}`;
    const at = performance.now();
    const reply = await post(via, '/add', { n: 1, hostnames: [name] });
    if (reply.status !== 200) throw new Error(`/add: ${JSON.stringify(reply.body)}`);
    const expected = await routes(via, sampleKeys);
    await waitFor(`instances to route like the one that added ${name}`, async () => {
      for (const other of others) {
        if (!JSON.parse((await get(other, '/rep')).text).message.replicas.includes(name)) return undefined;
      }
      for (const other of others)
        if ((await routes(other, sampleKeys)).join() !== expected.join()) return undefined;
      return true;
    });
    propagation.push(performance.now() - at);
    await post(via, '/rm', { n: 1, hostnames: [name] });
    await waitFor('removal everywhere', async () => {
      const reps = await Promise.all(instances.map((x) => get(x, '/rep')));
      return reps.every((r) => JSON.parse(r.text).message.N === 3) ? true : undefined;
    });
  }

  // Disagreements over many keys while membership is stable.
  const manyKeys = Array.from({ length: KEYS }, (_, i) => keyAt(i + 1_000_000));
  const keysAt = performance.now();
  const all = await Promise.all(instances.map((x) => routes(x, manyKeys)));
  let disagreements = 0;
  for (let k = 0; k < KEYS; k++) if (all[1][k] !== all[0][k] || all[2][k] !== all[0][k]) disagreements++;
  const keysSeconds = (performance.now() - keysAt) / 1000;

  // Leader fail-over under load through the survivors.
  const roles = await Promise.all(instances.map(role));
  const leader = instances[roles.indexOf('etcd; leader')];
  const survivors = instances.filter((x) => x !== leader);
  const pidsBefore = replicaPids().sort();
  let failed = 0;
  let sent = 0;
  let loadRunning = true;
  const load = Promise.all(
    survivors.flatMap((s) =>
      Array.from({ length: 8 }, async () => {
        // Bounded: stops on the flag or after 20,000 requests per loop.
        for (let n = 0; loadRunning && n < 20_000; n++) {
          sent++;
          try {
            const reply = await get(s, '/home', { 'x-request-id': String(keyAt(sent)) });
            if (reply.status !== 200) failed++;
          } catch {
            failed++;
          }
        }
      }),
    ),
  );
  await sleep(500);
  leader.child.kill('SIGKILL');
  const killedAt = performance.now();
  await waitFor(
    'a new leader',
    async () => ((await Promise.all(survivors.map(role))).includes('etcd; leader') ? true : undefined),
    20_000,
  );
  const failoverMs = performance.now() - killedAt;
  await sleep(3_000);
  loadRunning = false;
  await load;
  const pidsAfter = replicaPids().sort();

  const fmt = (ms) => `${Math.round(ms)} ms`;
  const report = `# Shared membership through etcd: propagation, agreement, fail-over

\`npm run bench:cluster${QUICK ? ' -- --quick' : ''}\` on ${new Date().toISOString().slice(0, 10)}: a 3-member etcd ${'3.4'}
cluster and three ringlb instances (\`--membership etcd --workers 1\`, lease TTL 3 s), all on loopback
of this 2-core machine, replicas as local processes.

| measure | value |
|---|---|
| reference: /add on a \`--membership local\` balancer, p50 / p99 (${ADDS} adds) | ${fmt(percentile(localTimes, 50))} / ${fmt(percentile(localTimes, 99))} |
| propagation: /add on one instance → every other routes ${SAMPLE} keys alike, p50 / p99 (${ADDS} adds) | ${fmt(percentile(propagation, 50))} / ${fmt(percentile(propagation, 99))} |
| propagation p99 / local /add p99 | ${(percentile(propagation, 99) / percentile(localTimes, 99)).toFixed(2)} |
| routing disagreements between the 3 instances over ${KEYS.toLocaleString('en')} keys (stable membership) | ${disagreements} (${keysSeconds.toFixed(1)} s) |
| leader SIGKILL → a survivor reports leader | ${fmt(failoverMs)} |
| requests through the 2 survivors during the kill (from 0.5 s before to 3 s after the new leader) | ${sent} sent, ${failed} failed |
| replica processes before / after the kill | ${pidsBefore.length} / ${pidsAfter.length}; same pids: ${pidsBefore.join() === pidsAfter.join()} |

Propagation is measured from sending the /add (which returns once the replica answers its first
heartbeat on the instance that took it) to the last other instance routing the sample like it, so
it includes starting the replica; the local reference is the same start without etcd.
`;
  mkdirSync(fileURLToPath(new URL('../reports/', import.meta.url)), { recursive: true });
  writeFileSync(new URL('../reports/cluster.md', import.meta.url), report);
  process.stdout.write(report);
  for (const x of instances) await x.pool.close();
  await local.pool.close();
}

function cleanUp() {
  for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
  for (const pid of replicaPids()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

main().then(
  () => {
    cleanUp();
    process.exit(0);
  },
  (error) => {
    process.stderr.write(`bench:cluster failed: ${error.stack}\n`);
    cleanUp();
    process.exit(1);
  },
);
