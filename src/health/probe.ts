import { Agent, request } from 'node:http';
import { H2Probe } from './h2-probe.js';

/**
 * One `GET /heartbeat` (or the configured health path): healthy means a 2xx within the timeout. Uses
 * its own keep-alive connection per replica, so that heartbeats never queue behind client traffic.
 * node:http rather than undici: the balancer loads node:http anyway, and undici's memory is then
 * only paid by the paths that use it (see core/lazy-undici.ts).
 *
 * The timeout is kept here, for the whole check: a replica behind a link that drops packets (a cut
 * between hosts, a firewall) answers neither a request on a kept-alive connection nor a connect
 * (measured with iptables DROP in a network namespace). So on timeout the request is destroyed with
 * its connection, which the agent then forgets, and the next check connects afresh.
 */
export class HeartbeatProbe {
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 1, timeout: 10_000 });
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
  check(origin: string): Promise<string | null> {
    if (this.#isH2(origin)) return this.#h2.check(origin, this.#path, this.#timeoutMs);
    return new Promise((resolve) => {
      let settled = false;
      const settle = (reason: string | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(reason);
      };
      let req: ReturnType<typeof request>;
      try {
        req = request(`${origin}${this.#path}`, { agent: this.#agent }, (res) => {
          const status = res.statusCode ?? 0;
          res.on('error', () => settle('ECONNRESET'));
          res.on('end', () => settle(status >= 200 && status < 300 ? null : `status ${status}`));
          res.resume();
        });
      } catch (error) {
        settle((error as Error).message);
        return;
      }
      const timer = setTimeout(() => {
        settle(`no answer within ${this.#timeoutMs} ms`);
        req.destroy();
      }, this.#timeoutMs);
      req.on('error', (error: NodeJS.ErrnoException) => settle(error.code ?? error.message));
      req.end();
    });
  }

  close(): Promise<void> {
    this.#h2.close();
    this.#agent.destroy();
    return Promise.resolve();
  }
}
