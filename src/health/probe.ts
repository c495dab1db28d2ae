import { Agent, request } from 'undici';
import { H2Probe } from './h2-probe.js';

/**
 * One `GET /heartbeat` (or the configured health path): healthy means a 2xx within the timeout. Uses its own connection pool so that
 * heartbeats never queue behind client traffic.
 */
export class HeartbeatProbe {
  readonly #agent = new Agent({ keepAliveTimeout: 10_000, connections: 1 });
  readonly #timeoutMs: number;
  readonly #path: string;
  /** Replicas that speak only HTTP/2 are checked over HTTP/2. */
  readonly #isH2: (origin: string) => boolean;
  readonly #h2 = new H2Probe();

  constructor(timeoutMs: number, path = '/heartbeat', isH2: (origin: string) => boolean = () => false) {
    this.#timeoutMs = timeoutMs;
    this.#path = path;
    this.#isH2 = isH2;
  }

  /** Resolves to null when healthy, or to the reason it is not. */
  async check(origin: string): Promise<string | null> {
    if (this.#isH2(origin)) return this.#h2.check(origin, this.#path, this.#timeoutMs);
    try {
      const response = await request(`${origin}${this.#path}`, {
        dispatcher: this.#agent,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      await response.body.dump();
      return response.statusCode >= 200 && response.statusCode < 300 ? null : `status ${response.statusCode}`;
    } catch (error) {
      const { name, code, message } = error as { name?: string; code?: unknown; message?: string };
      if (name === 'TimeoutError' || name === 'AbortError') return `no answer within ${this.#timeoutMs} ms`;
      return typeof code === 'string' ? code : (message ?? String(error));
    }
  }

  close(): Promise<void> {
    this.#h2.close();
    return this.#agent.close();
  }
}
