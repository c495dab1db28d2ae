import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import type { Server as TlsServer } from 'node:tls';
import type { Logger } from 'pino';
import type { RoutingTable } from '../membership/routing-table.js';
import type { ForwardOptions } from '../proxy/forward.js';
import type { Router } from '../proxy/router.js';
import type { UpstreamPool } from '../proxy/fast/upstream-pool.js';
import { DEFAULT_H2_LIMITS, H2Frontend, type H2Limits } from './h2-frontend.js';
import { toH2ReplicaFromHttp1 } from './h2-http1-client.js';
import type { Upstreams } from '../proxy/upstreams.js';
import { CertificateWatcher, loadCertificate, type CertificateFiles } from './certificate.js';
import { H2Upstreams } from './h2-upstreams.js';
import { createListener } from './listener.js';
import { createRedirectServer } from './redirect.js';
import type { WebSocketTunnels } from '../proxy/fast/websocket-tunnel.js';
import { h2WebSocket } from './websocket-h2.js';
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
  /** HTTP/2's limits on client connections (defaults: DEFAULT_H2_LIMITS). */
  readonly h2Limits?: Partial<H2Limits>;
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
  /** The fast HTTP/1.1 pool of a replica (HTTP/2 streams without a body travel on them). */
  readonly pool: (origin: string) => UpstreamPool | undefined;
  readonly upstreamTimeoutMs: number;
  readonly trustForwarded: boolean;
  readonly drainTimeoutMs: number;
  /** TLS handshakes and protocol sniffing get this long. */
  readonly handshakeTimeoutMs: number;
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
  /** Open HTTP/2 client sessions. */
  h2Sessions(): number;
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
  const wantH2 = protocols.tls ? protocols.http2 : protocols.h2c;
  const frontend = wantH2
    ? new H2Frontend({
        limits: { ...DEFAULT_H2_LIMITS, ...protocols.h2Limits },
        call: {
          router: ctx.router,
          pool: ctx.pool,
          h2,
          isH2,
          upstreamTimeoutMs: ctx.upstreamTimeoutMs,
        },
        isLocalPath: ctx.isLocalPath,
        handleLocal: ctx.handleLocal,
        trustForwarded: ctx.trustForwarded,
        logger: ctx.logger,
        // RFC 8441: WebSockets over HTTP/2 go to the same tunnels as HTTP/1.1 upgrades.
        onExtendedConnect: h2WebSocket(ctx.webSockets, { trustForwarded: ctx.trustForwarded }),
      })
    : undefined;
  const http2 = frontend?.server;

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
      return toH2ReplicaFromHttp1(h2, routed, route, outgoing, res, ctx.upstreamTimeoutMs);
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
    h2Sessions: () => frontend?.sessions ?? 0,
    close() {
      watcher?.close();
      webSockets.close();
      // GOAWAY: HTTP/2 streams in flight finish (the data plane waits for them), new ones are refused.
      frontend?.close();
      h2.close();
      redirect?.close();
      redirect?.closeAllConnections();
    },
  };
}
