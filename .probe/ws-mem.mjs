// In-process: one balancer (workers 1) + N idle WebSockets from a child client process.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { startBalancer } from '../dist/cli/balancer.js';
import { configSchema } from '../dist/cli/config.js';
const n = Number(process.argv[2] ?? 5000);
const rep = spawn(process.execPath, ['.bench/bench/ws-replica.js'], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((r) => rep.stdout.once('data', (c) => r(c.toString().trim())));
const config = configSchema.parse({ port: 0, host: '127.0.0.1', logLevel: 'silent', provider: 'static', backends: [url], workers: 1, maxConnections: 0 });
const lb = await startBalancer(config, pino({ level: 'silent' }));
const mem = (label) => {
  globalThis.gc();
  const m = process.memoryUsage();
  const s = readFileSync('/proc/self/smaps_rollup', 'utf8');
  const priv = Number(/Private_Dirty:\s+(\d+)/.exec(s)[1]) / 1024;
  console.log(label, 'private', priv.toFixed(1), 'heapUsed', (m.heapUsed / 1048576).toFixed(1), 'heapTotal', (m.heapTotal / 1048576).toFixed(1), 'external', (m.external / 1048576).toFixed(1));
};
await new Promise((r) => setTimeout(r, 1000));
mem('before');
const client = spawn(process.execPath, ['.probe/ws-clients.mjs', String(lb.port), String(n)], { stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise((r) => client.stdout.on('data', (c) => c.toString().includes('open') && r()));
await new Promise((r) => setTimeout(r, 2000));
mem('held');
const v8 = await import('node:v8');
for (const sp of v8.getHeapSpaceStatistics()) console.log(sp.space_name, (sp.space_size/1048576).toFixed(1), (sp.space_used_size/1048576).toFixed(1));
if (process.env.SNAP) v8.writeHeapSnapshot(process.env.SNAP);
console.log('webSockets', [...lb.webSockets().values()]);
client.kill(); rep.kill(); await lb.close(); process.exit(0);
