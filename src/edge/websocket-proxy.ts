import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { rawFailure, type Failure } from '../core/failure.js';
import { PROTOCOL_INDEX } from '../core/protocol.js';
import type { RoutingTable } from '../membership/routing-table.js';
import { parseResponseHead } from '../proxy/http1/response-head.js';
import { upstreamRequestHeaders } from '../proxy/headers.js';
import { viewOf } from '../proxy/request-view.js';
import type { RoutedRequest, Router } from '../proxy/router.js';
import { failureKindOf } from '../proxy/upstream-errors.js';
import { CLOSE_GOING_AWAY, CLOSE_SERVICE_RESTART, closeFrame, FrameScanner } from './websocket-frames.js';

export interface WebSocketProxyOptions {
  readonly table: () => RoutingTable;
  readonly router: Router;
  /** An open WebSocket with no traffic either way for this long is closed (1001); 0 = never. */
  readonly idleTimeoutMs: number;
  /** How long WebSockets to a replica that left the ring stay open before they are closed (1012). */
  readonly drainTimeoutMs: number;
  readonly trustForwarded: boolean;
  readonly logger: Logger;
}

const CONNECT_TIMEOUT_MS = 2_000;
const MAX_RESPONSE_HEAD = 64 * 1024;
/** How long a close waits for the replica to finish the frame it is in the middle of sending. */
const CLOSE_GRACE_MS = 2_000;

function headBytes(method: string, target: string, headers: Record<string, string | string[]>): string {
  let out = `${method} ${target} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    for (const item of Array.isArray(value) ? value : [value]) out += `${name}: ${item}\r\n`;
  }
  return `${out}\r\n`;
}

function refuse(client: Socket, routed: RoutedRequest, f: Failure): void {
  routed.finish(f.status);
  client.end(rawFailure(f, false));
}

/**
 * One client connection tunnelled to one replica after its upgrade request. Bytes flow both ways as
 * they come (no buffering beyond the sockets' own, backpressure passed on); the replica's direction is
 * followed frame by frame so that the balancer can close the client cleanly between two frames.
 */
class Tunnel {
  readonly replica: string;
  readonly origin: string;
  readonly #client: Socket;
  readonly #upstream: Socket;
  readonly #scanner = new FrameScanner();
  readonly #onDone: (tunnel: Tunnel) => void;
  #closing: Buffer | null = null;
  #done = false;

  constructor(
    replica: string,
    origin: string,
    client: Socket,
    upstream: Socket,
    idleTimeoutMs: number,
    onDone: (t: Tunnel) => void,
  ) {
    this.replica = replica;
    this.origin = origin;
    this.#client = client;
    this.#upstream = upstream;
    this.#onDone = onDone;
    client.setTimeout(idleTimeoutMs);
    client.on('timeout', () => this.close(CLOSE_GOING_AWAY, 'idle timeout'));
    client.on('data', (chunk: Buffer) => {
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    upstream.on('data', (chunk: Buffer) => this.#fromReplica(chunk));
    client.on('drain', () => upstream.resume());
    client.on('close', () => this.#finish());
    client.on('error', () => this.#finish());
    client.on('end', () => upstream.end());
    // The replica went away: unless it said goodbye itself, tell the client to reconnect elsewhere.
    upstream.on('close', () => {
      if (this.#scanner.sawClose) client.end();
      else this.close(CLOSE_SERVICE_RESTART, 'replica went away');
    });
    upstream.on('error', () => upstream.destroy());
  }

  #fromReplica(chunk: Buffer): void {
    if (this.#closing) {
      // Pass on the rest of the frame in progress, then close at its end.
      const taken = this.#scanner.scan(chunk, true);
      if (taken > 0) this.#client.write(chunk.subarray(0, taken));
      if (this.#scanner.atBoundary) this.#sendClose();
      return;
    }
    this.#scanner.scan(chunk);
    if (!this.#client.write(chunk)) this.#upstream.pause();
  }

  /** Closes the client with a close frame between two of the replica's frames, and the replica. */
  close(code: number, reason: string): void {
    if (this.#done || this.#closing) return;
    this.#closing = closeFrame(code, reason);
    if (this.#scanner.sawClose) {
      this.#client.end();
      this.#upstream.destroy();
      return;
    }
    if (this.#scanner.atBoundary) {
      this.#sendClose();
      return;
    }
    this.#upstream.resume();
    setTimeout(() => this.#finish(), CLOSE_GRACE_MS).unref();
  }

  #sendClose(): void {
    this.#upstream.destroy();
    this.#client.end(this.#closing!);
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#client.destroy();
    this.#upstream.destroy();
    this.#onDone(this);
  }
}

/**
 * Proxies upgrade requests (WebSockets) to the replica the ring picks for the request's key: the same
 * replica that a plain request with that key goes to. Keeps count of the open ones per replica and
 * closes those of a replica that left the ring (code 1012, after the drain timeout).
 */
export class WebSocketProxy {
  readonly #options: WebSocketProxyOptions;
  readonly #open = new Set<Tunnel>();
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(options: WebSocketProxyOptions) {
    this.#options = options;
  }

  /** The http server's 'upgrade' event. */
  handle(req: IncomingMessage, client: Socket, head: Buffer): void {
    // Nothing reads the client until the tunnel is open; its first frames wait in the socket.
    client.pause();
    client.on('error', () => client.destroy());
    const websocket = /^websocket$/i.test(req.headers.upgrade ?? '');
    const target = req.url ?? '/';
    const headers = upstreamRequestHeaders(req.headers, client.remoteAddress, this.#options.trustForwarded);
    if ((client as { encrypted?: boolean }).encrypted) headers['x-forwarded-proto'] = 'https';
    if (websocket) {
      headers.connection = 'Upgrade';
      headers.upgrade = req.headers.upgrade!;
    } else {
      // Other upgrades (h2c, ...) are not offered to replicas: the request is answered as HTTP/1.1.
      headers.connection = 'close';
    }
    const routed = this.#options.router.begin(
      viewOf(req.method ?? 'GET', target, req.headers, client.remoteAddress),
      { protocol: PROTOCOL_INDEX.websocket, grpc: false, bodyReplayable: true },
    );
    const request = headBytes(req.method ?? 'GET', target, headers);
    const attempt = (): void => {
      const route = routed.pick();
      if (route === undefined) return refuse(client, routed, routed.noReplica());
      const url = new URL(route.origin);
      const upstream = connect({ host: url.hostname, port: Number(url.port), noDelay: true });
      upstream.setTimeout(CONNECT_TIMEOUT_MS, () =>
        upstream.destroy(Object.assign(new Error('connect timeout'), { code: 'UND_ERR_CONNECT_TIMEOUT' })),
      );
      let connected = false;
      upstream.once('error', (error: Error & { code?: string }) => {
        upstream.destroy();
        // Before the connection is made nothing was sent; after it, the upgrade request was.
        const kind = connected ? failureKindOf(error.code) : 'refused';
        if (routed.failed(kind, false, error.code ?? error.message)) attempt();
        else refuse(client, routed, routed.gaveUp());
      });
      upstream.once('connect', () => {
        connected = true;
        upstream.setTimeout(0);
        upstream.removeAllListeners('timeout');
        upstream.write(request);
        if (head.length > 0) upstream.write(head);
        this.#answer(routed, route.name, route.origin, client, upstream, websocket);
      });
      client.once('close', () => upstream.destroy());
    };
    attempt();
  }

  /** Reads the replica's response head: a 101 opens the tunnel, anything else is passed on and closes. */
  #answer(
    routed: RoutedRequest,
    replica: string,
    origin: string,
    client: Socket,
    upstream: Socket,
    websocket: boolean,
  ): void {
    let buffered: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n', 0, 'latin1');
      if (end < 0) {
        if (buffered.length > MAX_RESPONSE_HEAD) upstream.destroy(new Error('response head too large'));
        return;
      }
      upstream.off('data', onData);
      upstream.removeAllListeners('error');
      let status: number;
      try {
        status = parseResponseHead(buffered.toString('latin1', 0, end)).status;
      } catch {
        upstream.destroy();
        routed.failed('protocol', false, 'a malformed response');
        refuse(client, routed, routed.gaveUp());
        return;
      }
      const replaced = routed.answered(status);
      if (replaced !== undefined) {
        upstream.destroy();
        refuse(client, routed, replaced);
        return;
      }
      routed.finish(status);
      client.write(buffered);
      if (status !== 101 || !websocket) {
        // Not switching: the response flows through and both connections close after it.
        upstream.pipe(client);
        upstream.on('error', () => client.destroy());
        client.removeAllListeners('data');
        return;
      }
      const tunnel = new Tunnel(replica, origin, client, upstream, this.#options.idleTimeoutMs, (t) =>
        this.#open.delete(t),
      );
      this.#open.add(tunnel);
      client.resume();
    };
    upstream.on('data', onData);
  }

  /** Open WebSockets per replica name. */
  counts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const tunnel of this.#open) counts.set(tunnel.replica, (counts.get(tunnel.replica) ?? 0) + 1);
    return counts;
  }

  /** Closes (1012, after the drain timeout) the WebSockets of replicas that are no longer in `table`. */
  sync(table: RoutingTable): void {
    const origins = new Set(table.routes.map((route) => route.origin));
    const leaving = [...this.#open].filter((tunnel) => !origins.has(tunnel.origin));
    if (leaving.length === 0) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      const now = new Set(this.#options.table().routes.map((route) => route.origin));
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
