import type { Telemetry } from './telemetry.js';

/** Worker → primary: the requests a worker finished since its last batch. */
export interface TelemetryBatch {
  readonly type: 'ringlb:telemetry';
  readonly replicas: string[];
  readonly statuses: number[];
  readonly seconds: number[];
  /** Indexes into `PROTOCOLS`, one per request. */
  readonly protocols: number[];
  /** Retries per protocol, indexed like `PROTOCOLS`. */
  readonly retries: number[];
  readonly fallbacks: number;
}

/**
 * A worker's telemetry: requests are batched and sent to the primary a few times a second, where
 * metrics and the dashboard count them (`replayBatch`), so every figure covers all workers. Membership
 * events never happen in a worker: the primary owns membership.
 */
export class TelemetryRelay implements Telemetry {
  #replicas: string[] = [];
  #statuses: number[] = [];
  #seconds: number[] = [];
  #protocols: number[] = [];
  #retries: number[] = [0, 0, 0, 0];
  #retried = false;
  #fallbacks = 0;
  readonly #send: (batch: TelemetryBatch) => void;
  readonly #timer: NodeJS.Timeout;

  constructor(send: (batch: TelemetryBatch) => void, intervalMs = 250) {
    this.#send = send;
    this.#timer = setInterval(() => this.flush(), intervalMs);
    this.#timer.unref();
  }

  requestDone(replica: string, status: number, seconds: number, protocol: number): void {
    this.#replicas.push(replica);
    this.#statuses.push(status);
    this.#seconds.push(seconds);
    this.#protocols.push(protocol);
    if (this.#replicas.length >= 4096) this.flush();
  }

  retry(protocol: number): void {
    this.#retries[protocol]!++;
    this.#retried = true;
  }

  hashKeyFallback(): void {
    this.#fallbacks++;
  }

  replacement(): void {}
  membershipChange(): void {}
  replicaState(): void {}

  flush(): void {
    if (this.#replicas.length === 0 && !this.#retried && this.#fallbacks === 0) return;
    const batch: TelemetryBatch = {
      type: 'ringlb:telemetry',
      replicas: this.#replicas,
      statuses: this.#statuses,
      seconds: this.#seconds,
      protocols: this.#protocols,
      retries: this.#retries,
      fallbacks: this.#fallbacks,
    };
    this.#replicas = [];
    this.#statuses = [];
    this.#seconds = [];
    this.#protocols = [];
    this.#retries = [0, 0, 0, 0];
    this.#retried = false;
    this.#fallbacks = 0;
    this.#send(batch);
  }

  close(): void {
    clearInterval(this.#timer);
    this.flush();
  }
}

/** In the primary: counts a worker's batch as if its requests had been proxied here. */
export function replayBatch(batch: TelemetryBatch, telemetry: Telemetry): void {
  for (let i = 0; i < batch.replicas.length; i++) {
    telemetry.requestDone(batch.replicas[i]!, batch.statuses[i]!, batch.seconds[i]!, batch.protocols[i]!);
  }
  batch.retries.forEach((count, protocol) => {
    for (let i = 0; i < count; i++) telemetry.retry(protocol);
  });
  for (let i = 0; i < batch.fallbacks; i++) telemetry.hashKeyFallback();
}
