// What the soak's clients saw: requests sent, succeeded and failed per second, every failure with
// its moment, stage and reason (classified after the run, against the faults), and latencies.

/**
 * How far a request got before it failed: no response at all, a response cut in its body (an error
 * or a reset while it came), or a response that ended cleanly with the wrong body (too short,
 * other bytes): a proxy may never do the last, whatever the fault.
 */
export type Stage = 'before-response' | 'mid-body' | 'wrong-body';

export interface Failure {
  readonly stream: string;
  /** Whether the request may be retried by a proxy (GET; not POST, gRPC unary, WebSocket). */
  readonly idempotent: boolean;
  readonly start: number;
  readonly end: number;
  readonly stage: Stage;
  readonly reason: string;
  /** Which balancer instance the client spoke to (its origin). */
  readonly instance: string;
}

export interface SecondCounts {
  sent: number;
  ok: number;
  failed: number;
  /** Latencies (ms) of the requests that succeeded in this second and count towards p50/p99. */
  readonly latencies: number[];
}

export interface StreamCounts {
  sent: number;
  ok: number;
  failed: number;
}

/** Thrown by a request function: `reason` names what went wrong, in the client's words. */
export class RequestFailed extends Error {
  constructor(
    readonly reason: string,
    readonly stage: Stage = 'before-response',
  ) {
    super(reason);
  }
}

/** The reason of an error from undici, node:http2, node:tls or grpc-js, without its details. */
export function reasonOf(error: unknown): string {
  if (error instanceof RequestFailed) return error.reason;
  const { code, name, message } = error as { code?: unknown; name?: string; message?: string };
  if (typeof code === 'string' && code !== '') return code;
  if (name === 'TimeoutError' || name === 'AbortError') return 'client timeout';
  return (message ?? String(error)).split('\n')[0]!.slice(0, 80);
}

export interface Progress {
  /** The response's status and head arrived and were right: a failure from now on is mid-body. */
  responded(): void;
}

export class Recorder {
  readonly seconds: SecondCounts[] = [];
  readonly failures: Failure[] = [];
  readonly streams = new Map<string, StreamCounts>();

  constructor(readonly startedAt: number) {}

  second(at: number): SecondCounts {
    const index = Math.max(0, Math.floor((at - this.startedAt) / 1000));
    while (this.seconds.length <= index) this.seconds.push({ sent: 0, ok: 0, failed: 0, latencies: [] });
    return this.seconds[index]!;
  }

  #stream(name: string): StreamCounts {
    let counts = this.streams.get(name);
    if (!counts) this.streams.set(name, (counts = { sent: 0, ok: 0, failed: 0 }));
    return counts;
  }

  /**
   * Runs one request and counts it: ok when `send` resolves, failed (with its reason and stage)
   * when it throws. Its latency counts towards the percentiles when `timed`.
   */
  async run(
    stream: string,
    instance: string,
    idempotent: boolean,
    timed: boolean,
    send: (progress: Progress) => Promise<void>,
  ): Promise<boolean> {
    const start = Date.now();
    this.second(start).sent++;
    this.#stream(stream).sent++;
    let stage: Stage = 'before-response';
    try {
      await send({ responded: () => (stage = 'mid-body') });
    } catch (error) {
      const end = Date.now();
      const failedStage =
        error instanceof RequestFailed && error.stage !== 'before-response' ? error.stage : stage;
      this.failures.push({
        stream,
        idempotent,
        start,
        end,
        stage: failedStage,
        reason: reasonOf(error),
        instance,
      });
      this.second(end).failed++;
      this.#stream(stream).failed++;
      return false;
    }
    const end = Date.now();
    const second = this.second(end);
    second.ok++;
    if (timed) second.latencies.push(end - start);
    this.#stream(stream).ok++;
    return true;
  }

  get sent(): number {
    let total = 0;
    for (const counts of this.streams.values()) total += counts.sent;
    return total;
  }
}
