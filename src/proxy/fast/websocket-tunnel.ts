import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  CLOSE_GOING_AWAY,
  CLOSE_SERVICE_RESTART,
  closeFrame,
  FrameScanner,
} from '../../edge/websocket-frames.js';
import type { Failure } from '../../core/failure.js';
import { PROTOCOL_INDEX } from '../../core/protocol.js';
import type { Route, RoutingTable } from '../../membership/routing-table.js';
import { withHintFields } from '../key-hints.js';
import type { RequestView } from '../request-view.js';
import type { FailureKind } from '../retry-policy.js';
import type { RoutedRequest, Router } from '../router.js';
import { failureKindOf } from '../upstream-errors.js';
import { ChunkedScanner } from '../http1/chunked-scanner.js';
import { parseResponseHead, type ResponseHead } from '../http1/response-head.js';
import { WebSocketStats, type WebSocketCounts } from '../../ops/websocket-stats.js';

/** A socket or an HTTP/2 stream: both time out on inactivity ('timeout'). */
export type ClientStream = Duplex & { setTimeout(ms: number): unknown };

/**
 * The client side of a WebSocket upgrade, whatever carries it: an HTTP/1.1 connection (an
 * `Upgrade: websocket` request) or an HTTP/2 stream (RFC 8441 extended CONNECT). The tunnel speaks
 * HTTP/1.1 to the replica either way; the client side only says how answers reach the client.
 */
export interface UpgradeClient {
  /** The bytes of the WebSocket once it is open (a socket, or an HTTP/2 stream). */
  readonly stream: ClientStream;
  /** The replica switched protocols; `raw` is its 101 head as sent. */
  switched(head: ResponseHead, raw: Buffer): void;
  /**
   * The replica answered otherwise; its body follows through `stream` (as sent when `rawChunked`,
   * else decoded), then the stream ends.
   */
  answered(head: ResponseHead): void;
  /** Whether a chunked body is passed on with its framing (HTTP/1.1) or decoded (HTTP/2). */
  readonly rawChunked: boolean;
  /** The balancer's own failure before anything of the replica's answer was passed on. */
  fail(f: Failure): void;
}

/** One upgrade request on its way to a replica. */
export interface UpgradeRequest {
  /** The request as the router reads it (its key, the access log). */
  readonly view: RequestView;
  /** The HTTP/1.1 request head for the replica, CRLF CRLF included. */
  readonly head: string;
  /** Bytes the client sent after its head (its first frames): passed on after the head. */
  readonly pending: Buffer | null;
}

export interface WebSocketTunnelOptions {
  /** Routes the upgrade requests (protocol "websocket"); its table is also what `sync` checks. */
  readonly router: Router;
  /** An open WebSocket with no traffic either way for this long is closed (1001); 0 = never. */
  readonly idleTimeoutMs: number;
  /** How long WebSockets to a replica that left the ring stay open before they are closed (1012). */
  readonly drainTimeoutMs: number;
  /** How long the replica has to answer the upgrade (`--upstream-timeout`, per try). */
  readonly responseTimeoutMs: number;
}

/** What the router is told of an upgrade request: a GET without a body, not gRPC. */
const WEBSOCKET_REQUEST = { protocol: PROTOCOL_INDEX.websocket, grpc: false, bodyReplayable: true };

const CONNECT_TIMEOUT_MS = 2_000;
const MAX_RESPONSE_HEAD = 64 * 1024;
/** How long a close waits for the replica to finish the frame it is in the middle of sending. */
const CLOSE_GRACE_MS = 2_000;

/** A failed try: what the retry policy needs to know of it. */
class TryFailure extends Error {
  constructor(
    message: string,
    readonly kind: FailureKind,
  ) {
    super(message);
  }
}

/**
 * Every WebSocket of one balancer process: opens them (the replica the ring picks for the key, the
 * next one when it cannot be reached before its 101), keeps count of the open ones and the bytes they
 * carry per replica, and closes those of a replica that left the ring (1012, after the drain timeout).
 */
export class WebSocketTunnels {
  readonly stats = new WebSocketStats();
  readonly #options: WebSocketTunnelOptions;
  readonly #open = new Set<Tunnel>();
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(options: WebSocketTunnelOptions) {
    this.#options = options;
  }

  open(request: UpgradeRequest, client: UpgradeClient): void {
    new Handshake(this, this.#options, request, client).attempt();
  }

  /** @internal A handshake succeeded: from here on the two sides are a byte pipe. */
  opened(route: Route, client: ClientStream, upstream: Socket, rest: Buffer | null): void {
    const counts = this.stats.of(route.name);
    const idle = this.#options.idleTimeoutMs > 0;
    const tunnel = new Tunnel(route.origin, counts, client, upstream, this, idle);
    this.#open.add(tunnel);
    counts.open++;
    if (idle) client.setTimeout(this.#options.idleTimeoutMs);
    if (rest) tunnel.fromReplica(rest);
    client.resume();
  }

  /** @internal */
  closed(tunnel: Tunnel): void {
    if (this.#open.delete(tunnel)) tunnel.counts.open--;
  }

  /** Open WebSockets per replica name. */
  counts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const [name, each] of this.stats.replicas) if (each.open > 0) counts.set(name, each.open);
    return counts;
  }

  /** Closes (1012, after the drain timeout) the WebSockets of replicas that are no longer in `table`. */
  sync(table: RoutingTable): void {
    const origins = new Set(table.routes.map((route) => route.origin));
    const leaving = [...this.#open].filter((tunnel) => !origins.has(tunnel.origin));
    if (leaving.length === 0) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      const now = new Set(this.#options.router.options.table().routes.map((route) => route.origin));
      for (const tunnel of leaving) {
        if (!now.has(tunnel.origin)) tunnel.close(CLOSE_SERVICE_RESTART, 'replica left the ring');
      }
    }, this.#options.drainTimeoutMs);
    this.#timers.add(timer);
  }

  /** Closes every WebSocket (1001: the balancer is going away). */
  close(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const tunnel of this.#open) tunnel.close(CLOSE_GOING_AWAY, 'balancer shutting down');
  }
}

/**
 * One upgrade request through its tries, routed like every request (the router's key, picks, retry
 * policy, passive health, telemetry and access log, with protocol "websocket"): a fresh connection to
 * the replica, the request head, and the replica's response head read. Short-lived, so it may use
 * closures; the tunnel may not.
 */
class Handshake {
  readonly #tunnels: WebSocketTunnels;
  readonly #options: WebSocketTunnelOptions;
  readonly #request: UpgradeRequest;
  readonly #client: UpgradeClient;
  readonly #routed: RoutedRequest;
  #upstream: Socket | null = null;
  #clientGone = false;
  readonly #onClientGone = () => {
    this.#clientGone = true;
    this.#upstream?.destroy();
    this.#routed.finish(499);
  };

  constructor(
    tunnels: WebSocketTunnels,
    options: WebSocketTunnelOptions,
    request: UpgradeRequest,
    client: UpgradeClient,
  ) {
    this.#tunnels = tunnels;
    this.#options = options;
    this.#request = request;
    this.#client = client;
    this.#routed = options.router.begin(request.view, WEBSOCKET_REQUEST);
    // Nothing reads the client until the tunnel is open: its first frames wait in the socket.
    client.stream.pause();
    client.stream.once('close', this.#onClientGone);
    client.stream.on('error', this.#onClientGone);
  }

  attempt(): void {
    if (this.#clientGone) return;
    const routed = this.#routed;
    const route = routed.pick();
    if (route === undefined) return this.#fail(routed.noReplica());
    const hints = routed.hintHeaders();
    const head =
      hints === undefined
        ? this.#request.head
        : withHintFields(Buffer.from(this.#request.head, 'latin1'), hints);
    const url = new URL(route.origin);
    const upstream = connect({ host: url.hostname, port: Number(url.port), noDelay: true });
    this.#upstream = upstream;
    let buffered: Buffer | null = null;
    let settled = false;
    const failed = (failure: TryFailure) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      upstream.destroy();
      if (this.#clientGone) return;
      if (routed.failed(failure.kind, false, failure.message)) this.attempt();
      else this.#fail(routed.gaveUp());
    };
    // A timer of the handshake's own, not the socket's: a socket keeps its timer object for good once
    // it has had one, and an idle WebSocket should not pay for it.
    let timer = setTimeout(() => failed(new TryFailure('connect timeout', 'refused')), CONNECT_TIMEOUT_MS);
    const onError = (error: NodeJS.ErrnoException) =>
      failed(new TryFailure(error.code ?? error.message, failureKindOf(error.code)));
    const onClose = () => failed(new TryFailure('closed before answering the upgrade', 'reset'));
    upstream.on('error', onError);
    upstream.on('close', onClose);
    upstream.once('connect', () => {
      clearTimeout(timer);
      timer = setTimeout(
        () => failed(new TryFailure('no answer to the upgrade in time', 'timeout')),
        this.#options.responseTimeoutMs,
      );
      upstream.write(head, 'latin1');
      if (this.#request.pending) upstream.write(this.#request.pending);
    });
    const onData = (chunk: Buffer) => {
      buffered = buffered ? Buffer.concat([buffered, chunk]) : chunk;
      const end = buffered.indexOf('\r\n\r\n', 0, 'latin1');
      if (end < 0) {
        if (buffered.length > MAX_RESPONSE_HEAD)
          failed(new TryFailure('response head too large', 'protocol'));
        return;
      }
      let head: ResponseHead;
      try {
        head = parseResponseHead(buffered.toString('latin1', 0, end));
      } catch (error) {
        failed(new TryFailure((error as Error).message, 'protocol'));
        return;
      }
      settled = true;
      clearTimeout(timer);
      // off(), not removeAllListeners(): that turns the socket's listener table into a slower and
      // larger shape for good (about 450 B per WebSocket held).
      upstream.off('data', onData);
      upstream.off('error', onError);
      upstream.off('close', onClose);
      const client = this.#client;
      client.stream.off('close', this.#onClientGone);
      client.stream.off('error', this.#onClientGone);
      const replaced = routed.answered(head.status);
      if (replaced) {
        // The seed's rule for a replica's 404: the client gets the balancer's 400 instead.
        upstream.destroy();
        return this.#fail(replaced);
      }
      // The upgrade request is over at the replica's answer; an open WebSocket is not in flight.
      routed.finish(head.status);
      const rest = end + 4 < buffered.length ? buffered.subarray(end + 4) : null;
      if (head.status === 101) {
        client.switched(head, buffered.subarray(0, end + 4));
        this.#tunnels.opened(route, client.stream, upstream, rest);
      } else {
        client.answered(head);
        relayAnswer(head, upstream, client, rest);
      }
    };
    upstream.on('data', onData);
  }

  #fail(f: Failure): void {
    this.#client.stream.off('close', this.#onClientGone);
    this.#client.stream.off('error', this.#onClientGone);
    this.#routed.finish(f.status);
    this.#client.fail(f);
  }
}

/** Passes on the body of a response that did not switch protocols, then closes both sides. */
function relayAnswer(head: ResponseHead, upstream: Socket, client: UpgradeClient, rest: Buffer | null): void {
  const out = client.stream;
  const finish = () => {
    upstream.destroy();
    out.end();
  };
  out.on('error', () => upstream.destroy());
  out.on('close', () => upstream.destroy());
  upstream.on('error', () => out.destroy());
  const bodyless = head.status < 200 || head.status === 204 || head.status === 304;
  if (bodyless || head.contentLength === 0) return finish();
  let left = head.contentLength;
  const chunked = head.chunked ? new ChunkedScanner(502) : null;
  const onData = (chunk: Buffer) => {
    let take = chunk.length;
    let done = false;
    if (chunked) {
      let end: number;
      try {
        end = client.rawChunked
          ? chunked.scan(chunk, 0, chunk.length)
          : chunked.scan(chunk, 0, chunk.length, (buf, from, to) => out.write(buf.subarray(from, to)));
      } catch {
        upstream.destroy();
        out.destroy();
        return;
      }
      if (end >= 0) {
        take = end;
        done = true;
      }
      if (client.rawChunked && !out.write(chunk.subarray(0, take))) upstream.pause();
    } else {
      if (left >= 0) {
        take = Math.min(take, left);
        left -= take;
        done = left === 0;
      }
      if (!out.write(take === chunk.length ? chunk : chunk.subarray(0, take))) upstream.pause();
    }
    if (done) finish();
  };
  out.on('drain', () => upstream.resume());
  upstream.on('data', onData);
  // A body without a length ends when the replica closes.
  upstream.on('end', finish);
  upstream.on('close', finish);
  if (rest) onData(rest);
}

/** Where a tunnel's sockets find their tunnel, so that their listeners are shared functions. */
const TUNNEL = Symbol('ringlb.tunnel');
type Tagged = Duplex & { [TUNNEL]?: Tunnel };

/**
 * An open WebSocket: a byte pipe between the client and its replica, with backpressure both ways
 * (a side that cannot take more pauses the other). Nothing is parsed but the frame boundaries of the
 * replica's direction (the scanner this extends), so that a close frame of the balancer's own can go
 * between two of its frames. Its listeners are shared functions that find it through its sockets: an
 * idle WebSocket costs its two sockets and this object, no closures and no buffers.
 */
class Tunnel extends FrameScanner {
  readonly origin: string;
  readonly counts: WebSocketCounts;
  readonly #client: Tagged;
  readonly #upstream: Socket & { [TUNNEL]?: Tunnel };
  readonly #tunnels: WebSocketTunnels;
  #closing: Buffer | null = null;
  #done = false;

  constructor(
    origin: string,
    counts: WebSocketCounts,
    client: Duplex,
    upstream: Socket,
    tunnels: WebSocketTunnels,
    idle: boolean,
  ) {
    super();
    this.origin = origin;
    this.counts = counts;
    this.#client = client as Tagged;
    this.#upstream = upstream;
    this.#tunnels = tunnels;
    this.#client[TUNNEL] = this;
    this.#upstream[TUNNEL] = this;
    // As few listeners as will do: an idle WebSocket's sockets carry them all the time. 'drain' is
    // listened to only while a side waits for it.
    client.on('data', onClientData);
    client.on('end', onClientEnd);
    client.on('close', onGone);
    client.on('error', onGone);
    if (idle) client.on('timeout', onIdle);
    upstream.on('data', onUpstreamData);
    upstream.on('close', onUpstreamClose);
    upstream.on('error', onUpstreamError);
  }

  fromClient(chunk: Buffer): void {
    this.counts.toReplica += chunk.length;
    if (this.#upstream.write(chunk) || this.#client.isPaused()) return;
    this.#client.pause();
    this.#upstream.once('drain', onUpstreamDrain);
  }

  fromReplica(chunk: Buffer): void {
    if (this.#closing) {
      // Pass on the rest of the frame in progress, then close at its end.
      const taken = this.scan(chunk, true);
      if (taken > 0) {
        this.counts.toClient += taken;
        this.#client.write(chunk.subarray(0, taken));
      }
      if (this.atBoundary) this.#sendClose();
      return;
    }
    this.scan(chunk);
    this.counts.toClient += chunk.length;
    if (this.#client.write(chunk) || this.#upstream.isPaused()) return;
    this.#upstream.pause();
    this.#client.once('drain', onClientDrain);
  }

  clientDrained(): void {
    this.#upstream.resume();
  }

  upstreamDrained(): void {
    this.#client.resume();
  }

  clientEnded(): void {
    this.#upstream.end();
  }

  /** The replica went away: unless it said goodbye itself, tell the client to reconnect elsewhere. */
  upstreamClosed(): void {
    if (this.sawClose) this.#client.end();
    else this.close(CLOSE_SERVICE_RESTART, 'replica went away');
  }

  upstreamFailed(): void {
    this.#upstream.destroy();
  }

  /** Closes the client with a close frame between two of the replica's frames, and the replica. */
  close(code: number, reason: string): void {
    if (this.#done || this.#closing) return;
    this.#closing = closeFrame(code, reason);
    if (this.sawClose) {
      this.#client.end();
      this.#upstream.destroy();
      return;
    }
    if (this.atBoundary) {
      this.#sendClose();
      return;
    }
    this.#upstream.resume();
    setTimeout(() => this.finish(), CLOSE_GRACE_MS).unref();
  }

  #sendClose(): void {
    this.#upstream.destroy();
    this.#client.end(this.#closing!);
  }

  finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#client.destroy();
    this.#upstream.destroy();
    this.#tunnels.closed(this);
  }
}

function onClientData(this: Tagged, chunk: Buffer): void {
  this[TUNNEL]!.fromClient(chunk);
}
function onClientDrain(this: Tagged): void {
  this[TUNNEL]!.clientDrained();
}
function onClientEnd(this: Tagged): void {
  this[TUNNEL]!.clientEnded();
}
function onGone(this: Tagged): void {
  this[TUNNEL]!.finish();
}
function onIdle(this: Tagged): void {
  this[TUNNEL]!.close(CLOSE_GOING_AWAY, 'idle timeout');
}
function onUpstreamData(this: Tagged, chunk: Buffer): void {
  this[TUNNEL]!.fromReplica(chunk);
}
function onUpstreamDrain(this: Tagged): void {
  this[TUNNEL]!.upstreamDrained();
}
function onUpstreamClose(this: Tagged): void {
  this[TUNNEL]!.upstreamClosed();
}
function onUpstreamError(this: Tagged): void {
  this[TUNNEL]!.upstreamFailed();
}
