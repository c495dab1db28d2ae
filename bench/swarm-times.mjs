// Swarm provider times, against the docker provider measured in the same run (the peer: replicas as
// containers ringlb starts and replaces itself).
//   npm run build && make build BASE=local && node bench/swarm-times.mjs [rounds]
// Swarm: `make swarm-up` on a free port (a swarm is created if the daemon is in none, and left
// after). Each round: `docker kill` one task under a bounded load of idempotent GETs and
// time Swarm's replacement and its return to the ring; then `/add {"n":1}` until the new task serves,
// and `/rm {"n":1}`. Docker: the same kill and add with `--provider docker`. A different replica is
// killed each round (slot 1, 2, 3, …), so no kill is a repeated failure. Writes reports/swarm.md.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { Pool } from 'undici';
import { startBalancer } from '../dist/cli/balancer.js';
import { configSchema } from '../dist/cli/config.js';

const run = promisify(execFile);
const rounds = Math.min(10, Math.max(1, Number(process.argv[2] ?? 3)));
const image = process.env.RINGLB_IMAGE ?? 'ringlb:latest';
const stack = `rlbbench${process.pid}`;
const service = `${stack}_replica`;
const docker = async (...args) => (await run('docker', args, { timeout: 60_000 })).stdout.trim();
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what, check, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '0.0.0.0', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** GETs with varied ids through `url` until `stop()`, at most 120 s; counts failures. */
function load(url) {
  const pool = new Pool(url, { connections: 4 });
  const result = { sent: 0, failed: 0 };
  let stopped = false;
  const until = Date.now() + 120_000;
  const loops = Array.from({ length: 4 }, async () => {
    while (!stopped && Date.now() < until) {
      result.sent++;
      try {
        const { statusCode, body } = await pool.request({
          path: '/home',
          method: 'GET',
          headers: { 'x-request-id': String(result.sent % 512) },
        });
        await body.text();
        if (statusCode !== 200) result.failed++;
      } catch {
        result.failed++;
      }
    }
  });
  return {
    result,
    async stop() {
      stopped = true;
      await Promise.all(loops);
      await pool.close();
      return result;
    },
  };
}

async function stateOf(url, name) {
  const response = await fetch(`${url}/dashboard/state`);
  const { replicas } = await response.json();
  return replicas.find((r) => r.name === name)?.state;
}

async function taskContainer(slot) {
  const ids = (
    await docker('ps', '-q', '--no-trunc', '--filter', `label=com.docker.swarm.service.name=${service}`)
  )
    .split('\n')
    .filter(Boolean);
  for (const id of ids) {
    const [name, started] = (await docker('inspect', '--format', '{{.Name}} {{.State.StartedAt}}', id)).split(
      ' ',
    );
    if (name.startsWith(`/${service}.${slot}.`)) return { id, startedAt: Date.parse(started) };
  }
  return undefined;
}

async function measureSwarm() {
  const swarmBefore = await docker('info', '--format', '{{.Swarm.LocalNodeState}}');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const make = (target) =>
    run('make', ['-s', target, `STACK=${stack}`, `PORT=${port}`, `IMAGE=${image}`], { timeout: 180_000 });
  const times = { kill: [], back: [], add: [], failed: 0, sent: 0 };
  let at = Date.now();
  await make('swarm-up');
  times.up = Date.now() - at;
  try {
    await until('3 healthy', async () => (await stateOf(url, 'Server 3')) === 'healthy');
    for (let round = 0; round < rounds; round++) {
      // A different replica each round, as in the peer (whose repeated failures back off).
      const slot = (round % 3) + 1;
      const name = `Server ${slot}`;
      const victim = await until(`slot ${slot} running`, () => taskContainer(slot));
      await until(`${name} healthy`, async () => (await stateOf(url, name)) === 'healthy');
      const traffic = load(url);
      await until('load', () => traffic.result.sent > 50);
      const killedAt = Date.now();
      await docker('kill', victim.id);
      await until(`${name} out`, async () => (await stateOf(url, name)) !== 'healthy');
      const replacement = await until(`a new task in slot ${slot}`, async () => {
        const found = await taskContainer(slot);
        return found && found.id !== victim.id ? found : undefined;
      });
      const backAt = await until(`${name} back`, async () =>
        (await stateOf(url, name)) === 'healthy' ? Date.now() : undefined,
      );
      const { sent, failed } = await traffic.stop();
      times.kill.push(backAt - killedAt);
      times.back.push(backAt - replacement.startedAt);
      times.sent += sent;
      times.failed += failed;

      at = Date.now();
      const added = await fetch(`${url}/add`, { method: 'POST', body: '{"n":1}' });
      if (added.status !== 200) throw new Error(`/add: ${added.status} ${await added.text()}`);
      await until('Server 4 healthy', async () => (await stateOf(url, 'Server 4')) === 'healthy');
      times.add.push(Date.now() - at);
      const removed = await fetch(`${url}/rm`, { method: 'POST', body: '{"n":1}' });
      if (removed.status !== 200) throw new Error(`/rm: ${removed.status} ${await removed.text()}`);
      await until('3 tasks', async () => (await fetch(`${url}/rep`).then((r) => r.json())).message.N === 3);
    }
  } finally {
    await make('swarm-down').catch((error) => console.error(error.message));
    if (
      swarmBefore !== 'active' &&
      (await docker('info', '--format', '{{.Swarm.LocalNodeState}}')) === 'active'
    )
      await docker('swarm', 'leave', '--force');
  }
  return times;
}

async function measureDocker() {
  const cluster = `bench-swarm-peer-${process.pid}`;
  const config = configSchema.parse({
    port: 0,
    host: '127.0.0.1',
    logLevel: 'silent',
    provider: 'docker',
    dockerImage: image,
    clusterName: cluster,
    workers: 1,
  });
  const lb = await startBalancer(config, pino({ level: 'silent' }));
  const url = `http://127.0.0.1:${lb.port}`;
  const times = { kill: [], add: [], failed: 0, sent: 0 };
  try {
    for (let round = 0; round < rounds; round++) {
      const name = `Server ${(round % 3) + 1}`;
      const traffic = load(url);
      await until('load', () => traffic.result.sent > 50);
      const before = lb.provider.list().find((r) => r.spec.name === name).instance;
      const killedAt = Date.now();
      await docker('kill', lb.provider.containerIdOf(name));
      await until(`${name} replaced`, () => {
        const now = lb.cluster.describe().find((r) => r.name === name);
        const instance = lb.provider.list().find((r) => r.spec.name === name)?.instance;
        return now?.state === 'healthy' && instance !== undefined && instance !== before;
      });
      times.kill.push(Date.now() - killedAt);
      const { sent, failed } = await traffic.stop();
      times.sent += sent;
      times.failed += failed;
      const at = Date.now();
      await lb.membership.add({ n: 1, hostnames: [] });
      times.add.push(Date.now() - at);
      await lb.membership.remove(1, ['Server 4']);
    }
  } finally {
    await lb.close();
    const ids = (await docker('ps', '-aq', '--filter', `label=io.ringlb.cluster=${cluster}`))
      .split('\n')
      .filter(Boolean);
    if (ids.length > 0) await docker('rm', '-f', ...ids);
  }
  return times;
}

const swarm = await measureSwarm();
const peer = await measureDocker();
const load1 = await run('cat', ['/proc/loadavg']).then((r) => r.stdout.trim());
const row = (label, s, d) =>
  `| ${label} | ${s === undefined ? '–' : s.toFixed(0)} | ${d === undefined ? '–' : d.toFixed(0)} | ${
    s !== undefined && d !== undefined ? (s / d).toFixed(2) : '–'
  } |`;
const report = `# Swarm provider times (\`node bench/swarm-times.mjs ${rounds}\`)

Medians of ${rounds} rounds, ms; the peer is \`--provider docker\` (ringlb starts and replaces the
containers itself), measured in the same run on the same machine (load average at the end: ${load1}).
Swarm's balancer runs in a container of the stack (\`make swarm-up\`), the docker peer's in this process.

| what | swarm | docker (peer) | swarm / docker |
| --- | ---: | ---: | ---: |
${row('`docker kill` of a replica → back in the ring', median(swarm.kill), median(peer.kill))}
${row("Swarm's replacement container started → back in the ring", median(swarm.back), undefined)}
${row('`/add {"n":1}` → the new replica healthy', median(swarm.add), median(peer.add))}
| failed idempotent GETs under load during the kills | ${swarm.failed} of ${swarm.sent} | ${peer.failed} of ${peer.sent} | |

\`make swarm-up\` → serving: ${swarm.up} ms (including \`docker swarm init\` when the daemon was in no swarm).
Targets (issue 16): back in the ring within 3 s of Swarm starting the replacement, 0 failed
idempotent requests meanwhile; \`/add\` serving within 5 s.
`;
writeFileSync('reports/swarm.md', report);
console.log(report);
