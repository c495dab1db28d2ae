import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { createServer as createH2Server, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import type { Server as TlsServer } from 'node:tls';
import type { Logger } from 'pino';
import { sendNodeFailure } from '../core/failure.js';
import type { RoutingTable } from '../membership/routing-table.js';
import type { ForwardOptions } from '../proxy/forward.js';
import type { Router } from '../proxy/router.js';
import type { Upstreams } from '../proxy/upstreams.js';
import { CertificateWatcher, loadCertificate, type CertificateFiles } from './certificate.js';
import { forwardStream } from './h2-forward.js';
import { settleH2Outcome, toH2Replica } from './h2-replica.js';
import { H2Upstreams } from './h2-upstreams.js';
import { createListener } from './listener.js';
import { createRedirectServer } from './redirect.js';
import type { WebSocketTunnels } from '../proxy/fast/websocket-tunnel.js';
import { handleUpgrade } from './websocket-proxy.js';

/** The protocols the public listener speaks, and how replicas are spoken to. */
export interface EdgeProtocols {
  /** Terminate TLS with this certificate and key (reloaded when they change on disk). */
  readonly tls?: CertificateFiles;
  /** Offer HTTP/2 by ALPN on the TLS listener. */
  readonly http2: boolean;
  /** Cleartext HTTP/2 with prior knowledge on a listener without TLS. */
  readonly h2c: boolean;
  /** A plain-HTTP port that redirects (308) to https. */
  readonly httpRedirectPort?: number;
  /** 0 = open WebSockets are never closed for being idle. */
  readonly wsIdleTimeoutMs: number;
  /** Replica origins spoken to over HTTP/2 (h2c) rather than HTTP/1.1; `all` for every one. */
  readonly h2Origins: ReadonlySet<string> | 'all';
}

/** Whether some replica is spoken to over HTTP/2 only. */
export function hasH2Replicas(protocols: EdgeProtocols): boolean {
  return protocols.h2Origins === 'all' || protocols.h2Origins.size > 0;
}

export const PLAIN_HTTP: EdgeProtocols = {
  http2: true,
  h2c: false,
  wsIdleTimeoutMs: 0,
  h2Origins: new Set(),
};

export interface EdgeContext {
  readonly table: () => RoutingTable;
  readonly router: Router;
  readonly isLocalPath: (pathname: string) => boolean;
  readonly handleLocal: (req: IncomingMessage, res: ServerResponse, pathname: string) => Promise<void>;
  readonly upstreams: Upstreams;
  readonly trustForwarded: boolean;
  readonly drainTimeoutMs: number;
  /** TLS handshakes and protocol sniffing get this long. */
  readonly handshakeTimeoutMs: number;
  /** An HTTP/2 connection with no open stream is closed after this. */
  readonly idleTimeoutMs: number;
  readonly logger: Logger;
  /** The general-purpose HTTP/1.1 server (its 'upgrade' event carries WebSockets). */
  readonly http: HttpServer;
  /** Every WebSocket of this process, whichever frontend opened it. */
  readonly webSockets: WebSocketTunnels;
}

export interface Edge {
  /** The public listener (TCP or TLS). */
  readonly server: NetServer;
  sync(table: RoutingTable): void;
  /** Open WebSockets per replica name. */
  webSockets(): Map<string, number>;
  /** An HTTP/1.1 client's request, sent over HTTP/2 if its replica is marked so (else undefined). */
  viaH2: NonNullable<ForwardOptions['viaH2']>;
  /** Starts the redirect listener, if any, once the public port is known. */
  listenExtras(host: string, publicPort: number): Promise<void>;
  close(): void;
}

/**
 * Everything about the protocols clients speak besides the HTTP/1.1 fast path: TLS (with certificate
 * reload), HTTP/2 (ALPN or h2c) with per-stream hashing, WebSocket tunnels, and the https redirect.
 */
export function createEdge(
  protocols: EdgeProtocols,
  ctx: EdgeContext,
  http1: (socket: Socket) => void,
): Edge {
  const h2 = new H2Upstreams();
  const isH2 =
    protocols.h2Origins === 'all'
      ? () => true
      : (origin: string) => (protocols.h2Origins as ReadonlySet<string>).has(origin);
  const forwardOptions = {
    router: ctx.router,
    upstreams: ctx.upstreams,
    h2,
    isH2,
    trustForwarded: ctx.trustForwarded,
  };
  const wantH2 = protocols.tls ? protocols.http2 : protocols.h2c;
  const http2 = wantH2 ? createH2Server({ settings: { maxConcurrentStreams: 256 } }) : undefined;
  if (http2) {
    const openStreams = new WeakMap<ServerHttp2Session, number>();
    http2.on('session', (session: ServerHttp2Session) => {
      openStreams.set(session, 0);
      session.on('stream', (stream) => {
        openStreams.set(session, (openStreams.get(session) ?? 0) + 1);
        stream.once('close', () => openStreams.set(session, (openStreams.get(session) ?? 1) - 1));
      });
    });
    http2.setTimeout(ctx.idleTimeoutMs);
    // Only a connection with no stream open is idle: a long gRPC stream is left alone.
    http2.on('timeout', (session: ServerHttp2Session) => {
      if ((openStreams.get(session) ?? 0) === 0) session.close();
    });
    http2.on('request', (req, res) => {
      const path = req.headers[':path'] ?? '/';
      const query = path.indexOf('?');
      const pathname = query < 0 ? path : path.slice(0, query);
      const handled = ctx.isLocalPath(pathname)
        ? // The compatibility objects are close enough to node:http's for the control API.
          ctx.handleLocal(req as unknown as IncomingMessage, res as unknown as ServerResponse, pathname)
        : forwardStream(req, res, forwardOptions);
      handled.catch((error: unknown) => {
        ctx.logger.error({ err: error }, 'HTTP/2 request failed');
        res.stream.close();
      });
    });
  }

  let watcher: CertificateWatcher | undefined;
  const secure = protocols.tls ? loadCertificate(protocols.tls) : undefined;
  const server = createListener({
    ...(secure ? { tls: secure } : {}),
    ...(http2 ? { http2 } : {}),
    h2c: protocols.h2c,
    http1,
    handshakeTimeoutMs: ctx.handshakeTimeoutMs,
  });
  if (protocols.tls && secure) {
    const tlsServer = server as NetServer & Pick<TlsServer, 'setSecureContext'>;
    watcher = new CertificateWatcher(
      protocols.tls,
      secure,
      (next) => tlsServer.setSecureContext(next),
      ctx.logger,
    );
  }

  const webSockets = ctx.webSockets;
  const upgradeOptions = { trustForwarded: ctx.trustForwarded };
  ctx.http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) =>
    handleUpgrade(webSockets, upgradeOptions, req, socket, head),
  );

  let redirect: HttpServer | undefined;
  return {
    server,
    sync(table) {
      h2.sync(table);
      webSockets.sync(table);
    },
    webSockets: () => webSockets.counts(),
    viaH2(routed, route, outgoing, res) {
      if (!isH2(route.origin)) return undefined;
      return toH2Replica(h2, routed, route, outgoing, res).then((outcome) =>
        settleH2Outcome(outcome, routed, {
          fail: (f) => sendNodeFailure(res, f),
          cut: () => res.destroy(),
          status: () => res.statusCode,
        }),
      );
    },
    async listenExtras(host, publicPort) {
      if (protocols.httpRedirectPort === undefined) return;
      const redirector = createRedirectServer(() => publicPort);
      redirect = redirector;
      await new Promise<void>((resolve, reject) => {
        redirector.once('error', reject);
        redirector.listen(protocols.httpRedirectPort, host, () => {
          redirector.off('error', reject);
          ctx.logger.info(
            { port: (redirector.address() as AddressInfo).port },
            'redirecting plain HTTP to https',
          );
          resolve();
        });
      });
    },
    close() {
      watcher?.close();
      webSockets.close();
      h2.close();
      redirect?.close();
      redirect?.closeAllConnections();
    },
  };
}
