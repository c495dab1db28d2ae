/** One replica's WebSockets: how many are open, and the bytes carried each way since the start. */
export interface WebSocketCounts {
  open: number;
  /** Bytes from clients to the replica after the upgrade (frames as sent, WebSocket framing included). */
  toReplica: number;
  /** Bytes from the replica to clients after its 101 (the balancer's own close frames not included). */
  toClient: number;
}

/** A snapshot of every replica's counts, as a worker sends it to the primary. */
export type WebSocketSnapshot = Record<string, WebSocketCounts>;

/**
 * WebSocket counts of one process, in plain numbers that the tunnels add to as bytes pass (one
 * addition per read, no label hashing); the metrics read them when scraped.
 */
export class WebSocketStats {
  readonly replicas = new Map<string, WebSocketCounts>();

  /** The counts of a replica, created on first use; tunnels keep the object and add to it. */
  of(replica: string): WebSocketCounts {
    let counts = this.replicas.get(replica);
    if (!counts) {
      counts = { open: 0, toReplica: 0, toClient: 0 };
      this.replicas.set(replica, counts);
    }
    return counts;
  }

  snapshot(): WebSocketSnapshot {
    const out: WebSocketSnapshot = {};
    for (const [name, counts] of this.replicas) out[name] = { ...counts };
    return out;
  }
}

/**
 * The primary's view over every worker's WebSockets: the latest snapshot of each live worker, plus
 * the bytes of workers that have exited (so the byte counters never go back; their sockets closed
 * with them, so they hold no open WebSockets).
 */
export class WebSocketTotals {
  readonly #workers = new Map<number, WebSocketSnapshot>();
  readonly #retired = new WebSocketStats();
  /** This process's own tunnels, when it has a data plane (one process, no workers). */
  local: WebSocketStats | undefined;

  update(worker: number, snapshot: WebSocketSnapshot): void {
    this.#workers.set(worker, snapshot);
  }

  retire(worker: number): void {
    const last = this.#workers.get(worker);
    this.#workers.delete(worker);
    if (!last) return;
    for (const [name, counts] of Object.entries(last)) {
      const kept = this.#retired.of(name);
      kept.toReplica += counts.toReplica;
      kept.toClient += counts.toClient;
    }
  }

  /** Every process's counts summed per replica. */
  sum(): Map<string, WebSocketCounts> {
    const total = new WebSocketStats();
    const add = (name: string, counts: WebSocketCounts) => {
      const into = total.of(name);
      into.open += counts.open;
      into.toReplica += counts.toReplica;
      into.toClient += counts.toClient;
    };
    for (const [name, counts] of this.#retired.replicas) add(name, counts);
    if (this.local) for (const [name, counts] of this.local.replicas) add(name, counts);
    for (const snapshot of this.#workers.values()) {
      for (const [name, counts] of Object.entries(snapshot)) add(name, counts);
    }
    return total.replicas;
  }
}

/** Worker → primary: the worker's WebSocket counts, sent when they changed. */
export interface WebSocketMessage {
  readonly type: 'ringlb:websockets';
  readonly snapshot: WebSocketSnapshot;
}

/** Sends `stats` through `send` every `intervalMs` while it changes; returns the stop function. */
export function relayWebSocketStats(
  stats: WebSocketStats,
  send: (message: WebSocketMessage) => void,
  intervalMs = 250,
): () => void {
  let last = '';
  const flush = () => {
    const snapshot = stats.snapshot();
    const text = JSON.stringify(snapshot);
    if (text === last) return;
    last = text;
    send({ type: 'ringlb:websockets', snapshot });
  };
  const timer = setInterval(flush, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    flush();
  };
}
