import type { Socket } from 'node:net';
import type { Failure } from '../../core/failure.js';
import { HOP_BY_HOP_FIELDS } from '../headers.js';
import { headerValue, type RequestHead } from '../http1/request-head.js';
import type { ResponseHead } from '../http1/response-head.js';
import type { RequestView } from '../request-view.js';
import type { UpgradeClient, WebSocketTunnels } from './websocket-tunnel.js';

const HOP_BY_HOP = new Set(HOP_BY_HOP_FIELDS);
const REPLACED = new Set(['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto']);

/** Whether a request head asks for a WebSocket (RFC 6455 §4.1: a GET with `Upgrade: websocket`). */
export function isWebSocketUpgrade(head: RequestHead): boolean {
  if (!head.upgrade || head.method !== 'GET' || head.minor !== 1) return false;
  const upgrade = headerValue(head.fields, 'upgrade') ?? '';
  return upgrade.split(',').some((token) => token.trim().toLowerCase() === 'websocket');
}

/**
 * The upgrade request a replica gets: the client's end-to-end headers (the `Sec-WebSocket-*` ones
 * among them), the balancer's `X-Forwarded-*`, and `Connection: Upgrade` with `Upgrade: websocket`
 * for this hop.
 */
export function webSocketRequestHead(
  head: RequestHead,
  clientAddress: string | undefined,
  encrypted: boolean,
  trustForwarded: boolean,
): string {
  let out = `GET ${head.target} HTTP/1.1\r\n`;
  let forwardedFor: string | undefined;
  let host: string | undefined;
  const fields = head.fields;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || head.connectionTokens.includes(lower)) continue;
    if (REPLACED.has(lower)) {
      // An untrusted client's own X-Forwarded-* is dropped; ours replaces it.
      if (lower === 'x-forwarded-for' && trustForwarded) {
        forwardedFor = forwardedFor ? `${forwardedFor}, ${fields[i + 1]}` : fields[i + 1];
      }
      continue;
    }
    if (lower === 'host') host = fields[i + 1];
    out += `${name}: ${fields[i + 1]}\r\n`;
  }
  const client = clientAddress ?? '';
  out += `x-forwarded-for: ${forwardedFor ? `${forwardedFor}, ${client}` : client}\r\n`;
  if (host !== undefined) out += `x-forwarded-host: ${host}\r\n`;
  out += `x-forwarded-proto: ${encrypted ? 'https' : 'http'}\r\n`;
  return `${out}connection: Upgrade\r\nupgrade: websocket\r\n\r\n`;
}

/**
 * The client side of an HTTP/1.1 upgrade: the replica's 101 is passed on as it was sent; any other
 * answer is passed on without its hop-by-hop headers and closes the connection after its body.
 */
export function socketClient(socket: Socket, fail: (f: Failure) => void): UpgradeClient {
  return {
    stream: socket,
    rawChunked: true,
    switched(_head: ResponseHead, raw: Buffer) {
      socket.write(raw);
    },
    answered(head: ResponseHead) {
      let out = `HTTP/1.1 ${head.status} ${head.reason}\r\n`;
      const fields = head.fields;
      for (let i = 0; i < fields.length; i += 2) {
        const lower = fields[i]!.toLowerCase();
        if (HOP_BY_HOP.has(lower) || head.connectionTokens.includes(lower)) continue;
        out += `${fields[i]}: ${fields[i + 1]}\r\n`;
      }
      socket.write(`${out}connection: close\r\n\r\n`, 'latin1');
    },
    fail,
  };
}

/** A RequestView over a parsed head, for the hash key. */
export function headView(head: RequestHead, remoteAddress: string | undefined): RequestView {
  return {
    method: head.method,
    target: head.target,
    remoteAddress,
    header: (name) => headerValue(head.fields, name),
  };
}

/** What the fast front calls with a WebSocket upgrade head (the front's `webSocket`). */
export type FrontWebSocket = (
  socket: Socket,
  head: RequestHead,
  pending: Buffer | null,
  fail: (f: Failure) => void,
) => void;

/** The fast front's way into the tunnels: routed as any request, the upgrade head rewritten. */
export function frontWebSocket(tunnels: WebSocketTunnels, trustForwarded: boolean): FrontWebSocket {
  return (socket, head, pending, fail) => {
    const remote = socket.remoteAddress;
    const encrypted = (socket as { encrypted?: boolean }).encrypted === true;
    tunnels.open(
      {
        view: headView(head, remote),
        head: webSocketRequestHead(head, remote, encrypted, trustForwarded),
        pending,
      },
      socketClient(socket, fail),
    );
  };
}
