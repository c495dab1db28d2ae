// The soak's traffic: a fixed-rate mix of protocols and bodies through every balancer instance,
// each stream paced and bounded on its own (bench/lib/paced-load.ts), all counted by one Recorder.
import { PacedLoad } from './lib/paced-load.js';
import { bodySize, GrpcClients, Http1Clients, Http2Clients, type Tls } from './soak-clients.js';
import type { Recorder } from './soak-record.js';
import { WebSocketFleet } from './soak-websockets.js';

/** What the replicas behind the balancer can answer: the soak's own, or ringlb's (GET /home only). */
export type ReplicaKind = 'soak' | 'ringlb';

export interface MixOptions {
  readonly origins: readonly string[];
  readonly tls: Tls;
  readonly recorder: Recorder;
  /** Requests per second of the whole mix (the streams keep their shares). */
  readonly rate: number;
  readonly replicas: ReplicaKind;
  /** Whether gRPC can pass (the replicas are reached over HTTP/2). */
  readonly grpc: boolean;
}

interface Stream {
  readonly name: string;
  /** Share of the mix's rate. */
  readonly share: number;
  readonly concurrency: number;
  readonly idempotent: boolean;
  /** Counts towards p50/p99 (the misbehaving clients do not). */
  readonly timed: boolean;
  readonly soakOnly?: boolean;
  readonly needsGrpc?: boolean;
  /** Not a request that can fail on the balancer's account: only counted as sent. */
  readonly misbehaving?: boolean;
  readonly send: (
    c: InstanceClients,
    progress: Parameters<Parameters<Recorder['run']>[4]>[0],
  ) => Promise<void>;
}

interface InstanceClients {
  readonly h1: Http1Clients;
  readonly h2: Http2Clients;
  readonly grpc: GrpcClients | undefined;
}

const STREAMS: readonly Stream[] = [
  {
    name: 'h1 GET /home keep-alive',
    share: 0.3,
    concurrency: 12,
    idempotent: true,
    timed: true,
    send: (c, p) => c.h1.get({ kind: 'home' }, false, p),
  },
  {
    name: 'h1 GET 1K-1M keep-alive',
    share: 0.12,
    concurrency: 8,
    idempotent: true,
    timed: true,
    soakOnly: true,
    send: (c, p) => c.h1.get({ kind: 'blob', size: bodySize() }, false, p),
  },
  {
    name: 'h1 POST 1K-1M keep-alive',
    share: 0.07,
    concurrency: 6,
    idempotent: false,
    timed: true,
    soakOnly: true,
    send: (c, p) => c.h1.post(bodySize(), false, p),
  },
  {
    name: 'h1 GET /home fresh connection',
    share: 0.05,
    concurrency: 4,
    idempotent: true,
    timed: true,
    send: (c, p) => c.h1.get({ kind: 'home' }, true, p),
  },
  {
    name: 'h1 GET 1K-1M fresh connection',
    share: 0.03,
    concurrency: 4,
    idempotent: true,
    timed: true,
    soakOnly: true,
    send: (c, p) => c.h1.get({ kind: 'blob', size: bodySize() }, true, p),
  },
  {
    name: 'h1 POST 1K-1M fresh connection',
    share: 0.02,
    concurrency: 3,
    idempotent: false,
    timed: true,
    soakOnly: true,
    send: (c, p) => c.h1.post(bodySize(), true, p),
  },
  {
    name: 'h2 GET /home',
    share: 0.12,
    concurrency: 8,
    idempotent: true,
    timed: true,
    send: (c, p) => c.h2.request('GET', { kind: 'home' }, p),
  },
  {
    name: 'h2 GET 1K-1M',
    share: 0.07,
    concurrency: 6,
    idempotent: true,
    timed: true,
    soakOnly: true,
    send: (c, p) => c.h2.request('GET', { kind: 'blob', size: bodySize() }, p),
  },
  {
    name: 'h2 POST 1K-1M',
    share: 0.03,
    concurrency: 3,
    idempotent: false,
    timed: true,
    soakOnly: true,
    send: (c, p) => c.h2.request('POST', { kind: 'echo', size: bodySize() }, p),
  },
  {
    name: 'gRPC unary 1K-64K',
    share: 0.12,
    concurrency: 8,
    idempotent: false,
    timed: true,
    soakOnly: true,
    needsGrpc: true,
    send: (c) => c.grpc!.unary(bodySize(64 * 1024)),
  },
  {
    name: 'abort mid-upload',
    share: 0.01,
    concurrency: 2,
    idempotent: false,
    timed: false,
    soakOnly: true,
    misbehaving: true,
    send: (c) => c.h1.abortUpload(),
  },
  {
    name: 'abort mid-download',
    share: 0.01,
    concurrency: 2,
    idempotent: true,
    timed: false,
    soakOnly: true,
    misbehaving: true,
    send: (c) => c.h1.abortDownload(),
  },
  {
    name: 'slow reader (1 MiB at 256 KiB/s)',
    share: 0.005,
    concurrency: 2,
    idempotent: true,
    timed: false,
    soakOnly: true,
    send: (c, p) => c.h1.slowRead(256 * 1024, p),
  },
];

function streamsOf(options: MixOptions): Stream[] {
  return STREAMS.filter(
    (s) => (options.replicas === 'soak' || !s.soakOnly) && (options.grpc || !s.needsGrpc),
  );
}

/** WebSockets held open per instance, and how often each sends. */
const WEBSOCKETS = 6;
const WEBSOCKET_INTERVAL_MS = 500;

export class TrafficMix {
  readonly #loads: PacedLoad[] = [];
  readonly #clients: InstanceClients[] = [];
  readonly #fleets: WebSocketFleet[] = [];

  constructor(readonly options: MixOptions) {
    for (const origin of options.origins) {
      this.#clients.push({
        h1: new Http1Clients(origin, options.tls, 24),
        h2: new Http2Clients(origin, options.tls, 2),
        grpc: options.replicas === 'soak' && options.grpc ? new GrpcClients(origin, options.tls) : undefined,
      });
      if (options.replicas === 'soak')
        this.#fleets.push(new WebSocketFleet(origin, options.tls.ca, options.recorder));
    }
    const streams = streamsOf(options);
    const shares = streams.reduce((sum, s) => sum + s.share, 0);
    for (const stream of streams) {
      this.options.origins.forEach((origin, i) => {
        const clients = this.#clients[i]!;
        const rate = (options.rate * stream.share) / shares / options.origins.length;
        const one = stream.misbehaving
          ? async () => {
              this.#count(stream.name);
              await stream.send(clients, { responded: () => undefined }).catch(() => undefined);
            }
          : async () => {
              await options.recorder.run(stream.name, origin, stream.idempotent, stream.timed, (p) =>
                stream.send(clients, p),
              );
            };
        this.#loads.push(new PacedLoad({ concurrency: stream.concurrency, rate }, one));
      });
    }
  }

  /** Misbehaving clients, by stream: how many ran (they cannot fail on the balancer's account). */
  readonly misbehaving = new Map<string, number>();

  #count(name: string): void {
    this.misbehaving.set(name, (this.misbehaving.get(name) ?? 0) + 1);
  }

  /** The streams of this mix with their rates, for the report. */
  describe(): string[] {
    const streams = streamsOf(this.options);
    const shares = streams.reduce((sum, s) => sum + s.share, 0);
    const lines = streams.map(
      (s) =>
        `${s.name}: ${((this.options.rate * s.share) / shares).toFixed(1)}/s${s.idempotent ? '' : ' (not idempotent)'}`,
    );
    if (this.#fleets.length > 0)
      lines.push(
        `WebSockets: ${WEBSOCKETS} held open per instance, an echo message (16 B-16 KiB) every ${WEBSOCKET_INTERVAL_MS} ms each`,
      );
    return lines;
  }

  start(at = Date.now()): void {
    for (const load of this.#loads) load.start(at);
    for (const fleet of this.#fleets) fleet.start(WEBSOCKETS, WEBSOCKET_INTERVAL_MS);
  }

  /** Stops every stream, waits for the requests in flight, and closes every client connection. */
  async stop(): Promise<void> {
    await Promise.all([
      ...this.#loads.map((load) => load.stop()),
      ...this.#fleets.map((fleet) => fleet.stop()),
    ]);
    for (const clients of this.#clients) {
      await clients.h1.close();
      clients.h2.close();
      clients.grpc?.close();
    }
  }
}
