import { connect, type ClientHttp2Session } from 'node:http2';
import type { RoutingTable } from '../membership/routing-table.js';

/**
 * One HTTP/2 session per replica that is reached over HTTP/2 (h2c, prior knowledge): every stream
 * to that replica is multiplexed on it. A session that closes or fails is replaced on the next use;
 * a replica that leaves the ring has its session closed once its streams are done.
 */
export class H2Upstreams {
  readonly #sessions = new Map<string, ClientHttp2Session>();

  session(origin: string): ClientHttp2Session {
    const existing = this.#sessions.get(origin);
    if (existing && !existing.closed && !existing.destroyed) return existing;
    const session = connect(origin);
    const forget = () => {
      if (this.#sessions.get(origin) === session) this.#sessions.delete(origin);
    };
    // Errors reach the streams too; the session is only dropped here.
    session.on('error', forget);
    session.on('close', forget);
    session.on('goaway', forget);
    this.#sessions.set(origin, session);
    return session;
  }

  sync(table: RoutingTable): void {
    const wanted = new Set(table.routes.map((route) => route.origin));
    for (const [origin, session] of this.#sessions) {
      if (wanted.has(origin)) continue;
      this.#sessions.delete(origin);
      session.close();
    }
  }

  close(): void {
    for (const session of this.#sessions.values()) session.destroy();
    this.#sessions.clear();
  }
}
