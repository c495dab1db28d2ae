import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  createServer as createNetServer,
  type AddressInfo,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import type { Logger } from 'pino';
import { seedMessage } from '../core/errors.js';
import { sendJson } from '../core/json-response.js';
import type { RoutingTable } from '../membership/routing-table.js';
import type { AccessLog } from '../ops/access-log.js';
import type { Telemetry } from '../ops/telemetry.js';
import { OutlierDetector } from '../health/outlier-detector.js';
import { createEdge, hasH2Replicas, PLAIN_HTTP, type Edge, type EdgeProtocols } from '../edge/edge.js';
import { fastConnectionHandler } from './fast/fast-server.js';
import type { FrontConnection } from './fast/front-connection.js';
import { UpstreamPools } from './fast/upstream-pools.js';
import { frontWebSocket } from './fast/websocket-front.js';
import { WebSocketTunnels } from './fast/websocket-tunnel.js';
import { forward } from './forward.js';
import { Router, type RouterOptions } from './router.js';
import type { RequestView } from './request-view.js';
import { Upstreams } from './upstreams.js';

/** What the balancer accepts from clients: the edge's limits and timeouts. */
export interface EdgeLimits {
  readonly maxHeaderSize: number;
  /** Largest proxied request body; 0 for no limit. */
  readonly maxBodySize: number;
  readonly headersTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly maxConnections: number;
  readonly trustForwarded: boolean;
}

export interface DataPlaneOptions {
  readonly limits: EdgeLimits;
  readonly table: () => RoutingTable;
  /** Paths the balancer answers itself, and how. */
  readonly isLocalPath: (pathname: string) => boolean;
  readonly handleLocal: (req: IncomingMessage, res: ServerResponse, pathname: string) => Promise<void>;
  readonly keyOf: (view: RequestView) => number;
  /** Hand-off hint headers for the replica a try goes to (`--handoff-window`, `--owners-header`). */
  readonly hints?: RouterOptions['hints'];
  readonly retries: number;
  readonly upstreamTimeoutMs: number;
  readonly seedNotFound: boolean;
  readonly telemetry: Telemetry;
  /** One line per proxied request, when `--access-log` is on. */
  readonly accessLog?: AccessLog | undefined;
  readonly logger: Logger;
  /** Failed requests in a row that make a replica an outlier, and whom to tell. */
  readonly outlierFailures: number;
  readonly onOutlier: (replica: string, reason: string) => void;
  /** TLS, HTTP/2, WebSockets (default: cleartext HTTP/1.1 and WebSockets). */
  readonly protocols?: EdgeProtocols;
  /** How long WebSockets to a replica that left the ring stay open (default 10 s). */
  readonly drainTimeoutMs?: number;
}

export interface DataPlane {
  readonly server: NetServer;
  /** The general-purpose server connections are handed to (own endpoints, bodies, upgrades). */
  readonly http: Server;
  /** TLS, HTTP/2 and WebSockets. */
  readonly edge: Edge;
  /** Every WebSocket of this process. */
  readonly webSockets: WebSocketTunnels;
  /** Brings connection pools in line with a new routing table. */
  sync(table: RoutingTable): void;
  /**
   * Listens on the public port. With `share`, every connection is first offered to it (other
   * processes of the balancer take their turns; `share` returns whether it took the connection), and
   * those it leaves are served here.
   */
  listen(port: number, host: string, share?: (socket: Socket) => boolean): Promise<number>;
  /** Serves a client connection accepted by another process of the balancer. */
  accept(socket: Socket): void;
  /** Resolves once no request is in flight to `origin` (or after `timeoutMs`). */
  drained(origin: string, timeoutMs: number): Promise<void>;
  /** Stops accepting, lets requests in flight finish (at most `drainTimeoutMs`), then closes. */
  close(drainTimeoutMs?: number): Promise<void>;
}

async function until(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

/**
 * Everything on the request path: the fast listener, the general-purpose server it hands connections
 * to, and the connection pools to replicas. It reads the routing table and never changes it.
 */
/**
 * How long a connection to a replica may sit idle before the balancer closes it, on every path to
 * HTTP/1.1 replicas (the fast path's pools and the general path's undici pools alike), so that the
 * balancer's connections go back down soon after its load does.
 */
const UPSTREAM_IDLE_MS = 4_000;

export function createDataPlane(options: DataPlaneOptions): DataPlane {
  const upstreams = new Upstreams({
    connections: 64,
    headersTimeoutMs: options.upstreamTimeoutMs,
    bodyTimeoutMs: options.upstreamTimeoutMs,
    idleTimeoutMs: UPSTREAM_IDLE_MS,
  });
  const pools = new UpstreamPools({
    maxConnections: 64,
    maxPipelineDepth: 8,
    connectTimeoutMs: 2_000,
    responseTimeoutMs: options.upstreamTimeoutMs,
    idleTimeoutMs: UPSTREAM_IDLE_MS,
    maxHeadBytes: 64 * 1024,
  });
  const { limits, telemetry, accessLog } = options;
  const protocols = options.protocols ?? PLAIN_HTTP;
  const outliers = new OutlierDetector(options.outlierFailures, options.onOutlier);
  // One router for every protocol: picks, retries, passive health, telemetry and the access log.
  const router = new Router({
    table: options.table,
    keyOf: options.keyOf,
    retries: options.retries,
    seedNotFound: options.seedNotFound,
    telemetry,
    accessLog,
    outliers,
    hints: options.hints,
  });
  const forwardOptions = {
    router,
    upstreams,
    maxBodySize: limits.maxBodySize,
    trustForwarded: limits.trustForwarded,
    viaH2: (...args: Parameters<Edge['viaH2']>) => edge.viaH2(...args),
  };
  const http = createServer(
    {
      maxHeaderSize: limits.maxHeaderSize,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: 0,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Node checks its timeouts every 30 s by default: far too slow against slow clients.
      connectionsCheckingInterval: 1_000,
    },
    (req, res) => {
      // llhttp reads a request line without a version as HTTP/0.9, on connections handed over after a
      // first request; the strict front refuses that line, so this server must too (found by fuzzing).
      if (req.httpVersionMajor !== 1) {
        req.resume();
        sendJson(
          res,
          400,
          { message: seedMessage('malformed request line'), status: 'failure' },
          { connection: 'close' },
        );
        return;
      }
      const url = req.url ?? '/';
      const query = url.indexOf('?');
      const pathname = query < 0 ? url : url.slice(0, query);
      const handled = options.isLocalPath(pathname)
        ? options.handleLocal(req, res, pathname)
        : forward(req, res, forwardOptions);
      handled.catch((error: unknown) => {
        options.logger.error({ err: error }, 'request failed');
        res.destroy();
      });
    },
  );
  // Requests node:http's own parser refuses on handed-over connections get the same JSON failure body
  // as everywhere else, and the connection is closed.
  http.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || error.code === 'ECONNRESET') return void socket.destroy();
    const status =
      error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const body = JSON.stringify({
      message: seedMessage(`bad request (${error.code ?? 'parse error'})`),
      status: 'failure',
    });
    socket.end(
      `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\n` +
        `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
  const open = new Set<FrontConnection>();
  const webSockets = new WebSocketTunnels({
    router,
    idleTimeoutMs: protocols.wsIdleTimeoutMs,
    drainTimeoutMs: options.drainTimeoutMs ?? 10_000,
    responseTimeoutMs: options.upstreamTimeoutMs,
  });
  const http1 = fastConnectionHandler(
    {
      router,
      pool: (origin) => pools.get(origin),
      // The fast path speaks HTTP/1.1 to replicas: with replicas that speak only HTTP/2, every
      // request goes to the general server, which speaks both.
      isLocalPath: hasH2Replicas(protocols) ? () => true : options.isLocalPath,
      webSocket: frontWebSocket(webSockets, limits.trustForwarded),
      open,
      trustForwarded: limits.trustForwarded,
      limits: {
        maxHeadBytes: limits.maxHeaderSize,
        maxHeaders: 128,
        headerTimeoutMs: limits.headersTimeoutMs,
        keepAliveTimeoutMs: limits.keepAliveTimeoutMs,
        maxBodySize: limits.maxBodySize,
      },
    },
    http,
  );
  const edge = createEdge(
    protocols,
    {
      table: options.table,
      router,
      isLocalPath: options.isLocalPath,
      handleLocal: options.handleLocal,
      upstreams,
      pool: (origin) => pools.get(origin),
      upstreamTimeoutMs: options.upstreamTimeoutMs,
      trustForwarded: limits.trustForwarded,
      drainTimeoutMs: options.drainTimeoutMs ?? 10_000,
      handshakeTimeoutMs: limits.headersTimeoutMs,
      logger: options.logger,
      http,
      webSockets,
    },
    http1,
  );
  const { server } = edge;
  if (limits.maxConnections > 0) server.maxConnections = limits.maxConnections;
  // Connections past the cap are refused before any handler runs; say so, at most every 10 s.
  let refused = 0;
  let lastRefusalLog = 0;
  const refuse = () => {
    refused++;
    const now = Date.now();
    if (now - lastRefusalLog < 10_000) return;
    lastRefusalLog = now;
    options.logger.warn(
      { refused, maxConnections: limits.maxConnections },
      'connections refused: --max-connections reached',
    );
    refused = 0;
  };
  // Node refuses past server.maxConnections for connections this process accepted itself.
  server.on('drop', refuse);
  // A connection another process accepted (or the sharing acceptor here) goes to the same handlers,
  // under the same cap: Node's cap counts only what `server` accepted itself.
  const accept = (socket: Socket) => {
    if (limits.maxConnections > 0 && sockets.size >= limits.maxConnections) {
      socket.destroy();
      return refuse();
    }
    // Shared connections are accepted paused, so that no byte is read before it is known which
    // process serves them.
    socket.resume();
    server.emit('connection', socket);
  };
  /** The public listener when connections are shared with other processes (`server` listens otherwise). */
  let acceptor: NetServer | undefined;
  // Twice a second, connections whose request head is overdue are closed (slowloris).
  const sweeper = setInterval(() => {
    const now = performance.now();
    for (const connection of open) if (connection.overdue(now)) connection.expire();
  }, 500);
  sweeper.unref();
  const sockets = new Set<Socket>();
  // One listener function for every connection: a long-lived one (a WebSocket) should not carry a
  // closure of its own for this.
  const forget = function (this: Socket) {
    sockets.delete(this);
  };
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', forget);
  });

  return {
    server,
    http,
    edge,
    webSockets,
    sync(table) {
      upstreams.sync(table);
      pools.sync(table);
      edge.sync(table);
    },
    listen(port, host, share) {
      if (share) {
        acceptor = createNetServer({ noDelay: true, pauseOnConnect: true }, (socket) => {
          if (!share(socket)) accept(socket);
        });
      }
      const listening = acceptor ?? server;
      return new Promise<number>((resolve, reject) => {
        listening.once('error', reject);
        listening.listen(port, host, () => {
          listening.off('error', reject);
          const bound = (listening.address() as AddressInfo).port;
          edge.listenExtras(host, bound).then(() => resolve(bound), reject);
        });
      });
    },
    accept,
    drained(origin, timeoutMs) {
      return until(() => pools.inFlight(origin) === 0 && !upstreams.draining(origin), timeoutMs);
    },
    async close(drainTimeoutMs = 0) {
      clearInterval(sweeper);
      server.close();
      acceptor?.close();
      // HTTP/2 clients get GOAWAY: their streams in flight finish, new ones go elsewhere.
      edge.close();
      http.closeIdleConnections();
      if (drainTimeoutMs > 0) {
        await until(
          () => pools.totalInFlight() === 0 && upstreams.totalInFlight() === 0 && edge.h2Sessions() === 0,
          drainTimeoutMs,
        );
      }
      pools.close();
      await upstreams.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}
