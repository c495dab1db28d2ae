import { Pool } from 'undici';
import { PacedLoad } from './lib/paced-load.js';

/** What the clients saw in one second of the run (by completion time). */
export interface Second {
  ok: number;
  failed: number;
  /** Latencies in ms of every request completed in this second. */
  readonly latencies: number[];
}

export interface LoadOptions {
  readonly origin: string;
  /** Requests in flight at most (the pool's connections, one request each). */
  readonly concurrency: number;
  /** Requests started per second at most; 0 for as fast as the concurrency allows. */
  readonly rate: number;
  /** A request that takes longer than this fails (ms). */
  readonly timeoutMs: number;
}

/**
 * Constant, bounded load: `concurrency` loops of idempotent GET /home with a random x-request-id,
 * paced to `rate`, until `stop()`. A request fails if it errors, times out, is not a 200 or its
 * body is not a replica's greeting.
 */
export class LoadGenerator {
  readonly seconds: Second[] = [];
  readonly failures = new Map<string, number>();
  #pool: Pool;
  #startedAt = 0;
  #paced: PacedLoad;
  #slowest = { ms: 0, at: 0, id: 0 };

  constructor(readonly options: LoadOptions) {
    this.#pool = new Pool(options.origin, {
      connections: options.concurrency,
      pipelining: 1,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      connectTimeout: options.timeoutMs,
    });
    this.#paced = new PacedLoad(options, () => this.#one());
  }

  start(startedAt: number): void {
    this.#startedAt = startedAt;
    this.#paced.start(startedAt);
  }

  /** Stops starting requests and waits for those in flight (each bounded by the timeout). */
  async stop(): Promise<void> {
    await this.#paced.stop();
    await this.#pool.close();
  }

  get slowest(): { ms: number; at: number; id: number } {
    return this.#slowest;
  }

  #second(now: number): Second {
    const index = Math.max(0, Math.floor((now - this.#startedAt) / 1000));
    while (this.seconds.length <= index) this.seconds.push({ ok: 0, failed: 0, latencies: [] });
    return this.seconds[index]!;
  }

  async #one(): Promise<void> {
    const id = 1 + Math.floor(Math.random() * 999_999);
    const started = Date.now();
    let failure: string | undefined;
    try {
      const response = await this.#pool.request({
        path: '/home',
        method: 'GET',
        headers: { 'x-request-id': String(id) },
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      const text = await response.body.text();
      if (response.statusCode !== 200) failure = `HTTP ${response.statusCode}`;
      else if (!text.includes('Hello from Server')) failure = 'unexpected body';
    } catch (error) {
      failure = (error as { code?: string }).code ?? (error as Error).name ?? 'error';
    }
    const now = Date.now();
    const ms = now - started;
    const second = this.#second(now);
    second.latencies.push(ms);
    if (ms > this.#slowest.ms) this.#slowest = { ms, at: started, id };
    if (failure === undefined) {
      second.ok++;
    } else {
      second.failed++;
      this.failures.set(failure, (this.failures.get(failure) ?? 0) + 1);
    }
  }
}
