import { Client } from 'undici';
import { H2Probe } from './h2-probe.js';

/**
 * One `GET /heartbeat` (or the configured health path): healthy means a 2xx within the timeout. Uses
 * its own connection per replica so that heartbeats never queue behind client traffic.
 *
 * The timeout is kept here, not left to undici: a replica behind a link that drops packets (a cut
 * between hosts, a firewall) answers neither a request on a kept-alive connection nor a connect, and
 * undici's own timeouts and abort signal did not end such a request (measured with iptables DROP in
 * a network namespace: the check never resolved). So on timeout the replica's connection is
 * destroyed, which fails what waits on it, and the next check connects afresh.
 */
export class HeartbeatProbe {
  readonly #clients = new Map<string, Client>();
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
    const client = this.#client(origin);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<string>((resolve) => {
      timer = setTimeout(() => {
        if (this.#clients.get(origin) === client) this.#clients.delete(origin);
        client.destroy().catch(() => undefined);
        resolve(`no answer within ${this.#timeoutMs} ms`);
      }, this.#timeoutMs);
    });
    const answered = client.request({ method: 'GET', path: this.#path }).then(
      async (response) => {
        await response.body.dump();
        return response.statusCode >= 200 && response.statusCode < 300
          ? null
          : `status ${response.statusCode}`;
      },
      (error: { code?: unknown; message?: string }) =>
        typeof error.code === 'string' ? error.code : (error.message ?? String(error)),
    );
    try {
      return await Promise.race([answered, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  #client(origin: string): Client {
    let client = this.#clients.get(origin);
    if (!client || client.destroyed || client.closed) {
      client = new Client(origin, {
        keepAliveTimeout: 10_000,
        connectTimeout: this.#timeoutMs,
        pipelining: 1,
      });
      const made = client;
      // A connection that closed (idle, or the replica went away) is not kept: replicas come and go.
      made.on('disconnect', () => {
        if (this.#clients.get(origin) !== made) return;
        this.#clients.delete(origin);
        made.close().catch(() => undefined);
      });
      this.#clients.set(origin, client);
    }
    return client;
  }

  async close(): Promise<void> {
    this.#h2.close();
    const clients = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.all(clients.map((client) => client.destroy().catch(() => undefined)));
  }
}
