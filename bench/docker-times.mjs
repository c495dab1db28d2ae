// Container start, stop and replacement times, against local processes measured in the same run.
//   npm run build && make build BASE=local && node bench/docker-times.mjs [rounds]
// Each round, beside 3 running replicas: add one replica (start → first good heartbeat), kill it
// (SIGKILL / `docker kill`) and wait until its replacement is back in the ring, then remove it.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { startBalancer } from '../dist/cli/balancer.js';
import { configSchema } from '../dist/cli/config.js';

const run = promisify(execFile);
const rounds = Math.min(20, Math.max(1, Number(process.argv[2] ?? 5)));
const cluster = `bench-${process.pid}`;

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

async function until(what, check, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function measure(provider) {
  const config = configSchema.parse({
    port: 0,
    host: '127.0.0.1',
    logLevel: 'silent',
    provider,
    clusterName: cluster,
  });
  const lb = await startBalancer(config, pino({ level: 'silent' }));
  const times = { add: [], rm: [], replace: [] };
  try {
    for (let round = 0; round < rounds; round++) {
      // A fresh replica each round, so every kill is a first failure (no crash-loop back-off).
      const name = `${cluster}-x${round}`;
      let at = performance.now();
      await lb.membership.add({ n: 1, hostnames: [name] });
      times.add.push(performance.now() - at);

      const before = lb.provider.list().find((r) => r.spec.name === name).instance;
      at = performance.now();
      if (provider === 'process') process.kill(lb.provider.pidOf(name), 'SIGKILL');
      else await run('docker', ['kill', lb.provider.containerIdOf(name)]);
      await until(`${name} to be replaced`, () => {
        const now = lb.cluster.describe().find((r) => r.name === name);
        const instance = lb.provider.list().find((r) => r.spec.name === name)?.instance;
        return now?.state === 'healthy' && instance !== undefined && instance !== before;
      });
      times.replace.push(performance.now() - at);

      at = performance.now();
      await lb.membership.remove(1, [name]);
      times.rm.push(performance.now() - at);
    }
  } finally {
    await lb.close();
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
}

try {
  const processTimes = await measure('process');
  const dockerTimes = await measure('docker');
  console.log(`median of ${rounds} rounds, ms (docker / process):`);
  for (const [key, label] of [
    ['add', 'start one replica until its first good heartbeat (/add)'],
    ['rm', 'stop and remove one replica (/rm)'],
    ['replace', 'killed replica replaced and back in the ring'],
  ]) {
    const ratio = dockerTimes[key] / processTimes[key];
    console.log(
      `  ${label}: docker ${dockerTimes[key].toFixed(0)}, process ${processTimes[key].toFixed(0)} (× ${ratio.toFixed(1)})`,
    );
  }
} finally {
  const { stdout } = await run('docker', ['ps', '-aq', '--filter', `label=io.ringlb.cluster=${cluster}`]);
  const ids = stdout.split('\n').filter(Boolean);
  if (ids.length > 0) await run('docker', ['rm', '-f', ...ids]);
}
