import type { ClientHttp2Session } from 'node:http2';
import { http2 } from './lazy-protocols.js';
import type { RoutingTable } from '../membership/routing-table.js';

/** Sessions per replica at most: a few TCP connections spread the load without losing multiplexing. */
export const MAX_SESSIONS_PER_REPLICA = 4;
/** A session with this many streams open makes the next stream open another session (up to the cap). */
const BUSY_STREAMS = 32;
/** The connection-level receive window of an upstream session: one stream's slow reader cannot stall the rest. */
const SESSION_WINDOW = 8 * 1024 * 1024;

interface Tracked {
  readonly session: ClientHttp2Session;
  open: number;
  /** Streams above this id were not processed by the replica (its GOAWAY said so). */
  goawayLastStreamId: number;
}

/** A stream's session, and whether the replica's GOAWAY says the stream was never processed. */
export interface UpstreamSession {
  readonly session: ClientHttp2Session;
  /** Call once the stream is closed: the session may take another. */
  release(): void;
  /** Whether the replica said (by GOAWAY) that it never processed stream `id`. */
  unprocessed(id: number | undefined): boolean;
}

/**
 * The HTTP/2 sessions to replicas reached over HTTP/2 (h2c, prior knowledge): streams are multiplexed
 * on at most four sessions per replica, each new stream on the least busy one. A session that closes,
 * fails or gets GOAWAY takes no new streams; a replica that leaves the ring has its sessions closed
 * once their streams are done.
 */
export class H2Upstreams {
  readonly #sessions = new Map<string, Tracked[]>();

  /** A session for one more stream to `origin` (opening one when all are busy or there is none). */
  acquire(origin: string): UpstreamSession {
    let list = this.#sessions.get(origin);
    if (!list) {
      list = [];
      this.#sessions.set(origin, list);
    }
    let best: Tracked | undefined;
    for (const tracked of list) {
      if (!usable(tracked.session)) continue;
      if (!best || tracked.open < best.open) best = tracked;
    }
    if (!best || (best.open >= BUSY_STREAMS && list.length < MAX_SESSIONS_PER_REPLICA)) {
      best = this.#open(origin, list);
    }
    const tracked = best;
    tracked.open++;
    let released = false;
    return {
      session: tracked.session,
      release: () => {
        if (released) return;
        released = true;
        tracked.open--;
      },
      unprocessed: (id) =>
        id !== undefined && tracked.goawayLastStreamId >= 0 && id > tracked.goawayLastStreamId,
    };
  }

  /** The session used for one-off requests (health checks): the least busy, as for any stream. */
  session(origin: string): ClientHttp2Session {
    const lease = this.acquire(origin);
    lease.release();
    return lease.session;
  }

  #open(origin: string, list: Tracked[]): Tracked {
    const session = http2().connect(origin, { settings: { enablePush: false } });
    const tracked: Tracked = { session, open: 0, goawayLastStreamId: -1 };
    session.once('connect', () => {
      try {
        session.setLocalWindowSize(SESSION_WINDOW);
      } catch {
        // The session closed already.
      }
    });
    const forget = () => {
      const index = list.indexOf(tracked);
      if (index >= 0) list.splice(index, 1);
    };
    // Errors reach the streams too; the session is only dropped here.
    session.on('error', forget);
    session.on('close', forget);
    session.on('goaway', (_code: number, lastStreamId: number) => {
      tracked.goawayLastStreamId = lastStreamId;
      forget();
    });
    list.push(tracked);
    return tracked;
  }

  /** Sessions open to `origin` (for tests and metrics). */
  sessions(origin: string): number {
    return this.#sessions.get(origin)?.length ?? 0;
  }

  sync(table: RoutingTable): void {
    const wanted = new Set(table.routes.map((route) => route.origin));
    for (const [origin, list] of this.#sessions) {
      if (wanted.has(origin)) continue;
      this.#sessions.delete(origin);
      for (const tracked of list) tracked.session.close();
    }
  }

  close(): void {
    // Streams in flight finish (the data plane waits for them); the sessions close after them.
    for (const list of this.#sessions.values()) for (const tracked of list) tracked.session.close();
    this.#sessions.clear();
  }
}

function usable(session: ClientHttp2Session): boolean {
  return !session.closed && !session.destroyed;
}
