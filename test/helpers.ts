import { pino } from 'pino';
import { startBalancer, type Balancer } from '../src/cli/balancer.js';
import { configSchema, type Config } from '../src/cli/config.js';

/** A real balancer with real replica processes on free loopback ports; close it in afterEach/afterAll. */
export async function balancer(overrides: Partial<Config> = {}): Promise<Balancer & { url: string }> {
  const config = configSchema.parse({ port: 0, host: '127.0.0.1', logLevel: 'silent', ...overrides });
  const started = await startBalancer(config, pino({ level: config.logLevel }));
  return Object.assign(started, { url: `http://127.0.0.1:${started.port}` });
}

export interface Reply {
  status: number;
  body: any;
  headers: Headers;
}

export async function call(url: string, init: RequestInit & { json?: unknown } = {}): Promise<Reply> {
  const { json, ...rest } = init;
  const response = await fetch(url, json === undefined ? rest : { ...rest, body: JSON.stringify(json) });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text === '' ? '' : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body, headers: response.headers };
}

export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
