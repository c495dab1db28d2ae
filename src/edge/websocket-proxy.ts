import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { rawFailure, type Failure } from '../core/failure.js';
import { socketClient } from '../proxy/fast/websocket-front.js';
import type { WebSocketTunnels } from '../proxy/fast/websocket-tunnel.js';
import { upstreamRequestHeaders } from '../proxy/headers.js';
import { viewOf } from '../proxy/request-view.js';

export interface UpgradeOptions {
  readonly trustForwarded: boolean;
}

function headText(method: string, target: string, headers: Record<string, string | string[]>): string {
  let out = `${method} ${target} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    for (const item of Array.isArray(value) ? value : [value]) out += `${name}: ${item}\r\n`;
  }
  return `${out}\r\n`;
}

/** The one failure renderer's HTTP/1.1 bytes, on a connection that is closed after them. */
function refuse(client: Socket, f: Failure): void {
  if (!client.writable) return void client.destroy();
  client.end(rawFailure(f, false));
}

/**
 * node:http's 'upgrade' event, for connections that were handed to the general-purpose server before
 * their upgrade request (the fast front takes WebSocket upgrades itself): the same tunnels. Another
 * kind of upgrade (h2c, ...) is not offered to the replica: it is answered as plain HTTP/1.1.
 */
export function handleUpgrade(
  tunnels: WebSocketTunnels,
  options: UpgradeOptions,
  req: IncomingMessage,
  client: Socket,
  head: Buffer,
): void {
  client.on('error', () => client.destroy());
  const websocket = req.method === 'GET' && /^websocket$/i.test(req.headers.upgrade ?? '');
  const target = req.url ?? '/';
  const headers = upstreamRequestHeaders(req.headers, client.remoteAddress, options.trustForwarded);
  if ((client as { encrypted?: boolean }).encrypted) headers['x-forwarded-proto'] = 'https';
  if (websocket) {
    headers.connection = 'Upgrade';
    headers.upgrade = 'websocket';
  } else {
    headers.connection = 'close';
  }
  const method = req.method ?? 'GET';
  tunnels.open(
    {
      view: viewOf(method, target, req.headers, client.remoteAddress),
      head: headText(method, target, headers),
      pending: head.length > 0 ? head : null,
    },
    socketClient(client, (f) => refuse(client, f)),
  );
}
