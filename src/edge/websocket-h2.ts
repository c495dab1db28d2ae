import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { respondH2Failure } from '../core/failure.js';
import { HOP_BY_HOP_FIELDS } from '../proxy/headers.js';
import type { ResponseHead } from '../proxy/http1/response-head.js';
import type { UpgradeClient, WebSocketTunnels } from '../proxy/fast/websocket-tunnel.js';
import { viewOf } from '../proxy/request-view.js';

const HOP_BY_HOP = new Set([...HOP_BY_HOP_FIELDS, 'transfer-encoding', 'content-length', 'host']);
const REPLACED = new Set(['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'sec-websocket-key']);
/** What an HTTP/2 client is told of the replica's 101 (RFC 8441 §5: no Upgrade, no Accept). */
const SWITCH_HEADERS = new Set(['sec-websocket-protocol', 'sec-websocket-extensions']);

export interface H2WebSocketOptions {
  readonly trustForwarded: boolean;
}

/**
 * The HTTP/1.1 upgrade request a replica gets for an extended CONNECT (RFC 8441 §5): a GET of
 * `:path` with `Host: :authority`, the client's end-to-end headers, a `Sec-WebSocket-Key` of the
 * balancer's own (HTTP/2 clients send none), and the balancer's `X-Forwarded-*`.
 */
export function h2UpgradeHead(
  headers: IncomingHttpHeaders,
  clientAddress: string | undefined,
  encrypted: boolean,
  trustForwarded: boolean,
): string {
  const authority = headers[':authority'] ?? headers.host ?? '';
  let out = `GET ${headers[':path'] ?? '/'} HTTP/1.1\r\nhost: ${authority}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.startsWith(':') || HOP_BY_HOP.has(name) || REPLACED.has(name)) continue;
    for (const item of Array.isArray(value) ? value : [value]) out += `${name}: ${item}\r\n`;
  }
  const given = trustForwarded ? headers['x-forwarded-for'] : undefined;
  const client = clientAddress ?? '';
  out += `x-forwarded-for: ${given ? `${given}, ${client}` : client}\r\n`;
  if (authority) out += `x-forwarded-host: ${authority}\r\n`;
  out += `x-forwarded-proto: ${encrypted ? 'https' : 'http'}\r\n`;
  out += `sec-websocket-key: ${randomBytes(16).toString('base64')}\r\n`;
  return `${out}connection: Upgrade\r\nupgrade: websocket\r\n\r\n`;
}

/** The response headers an HTTP/2 client gets for a replica's answer other than 101. */
function answerHeaders(head: ResponseHead): Record<string, string | string[] | number> {
  const out: Record<string, string | string[]> = {};
  const fields = head.fields;
  for (let i = 0; i < fields.length; i += 2) {
    const lower = fields[i]!.toLowerCase();
    if (HOP_BY_HOP.has(lower) || head.connectionTokens.includes(lower)) continue;
    const seen = out[lower];
    out[lower] =
      seen === undefined ? fields[i + 1]! : [...(Array.isArray(seen) ? seen : [seen]), fields[i + 1]!];
  }
  return { ...out, ':status': head.status };
}

/**
 * The client side of a WebSocket over HTTP/2: the stream is the WebSocket's bytes, a replica's 101
 * becomes `:status 200`, another answer is passed on with its body decoded.
 */
function streamClient(stream: ServerHttp2Stream): UpgradeClient {
  return {
    stream,
    rawChunked: false,
    switched(head) {
      const headers: Record<string, string | number> = { ':status': 200 };
      const fields = head.fields;
      for (let i = 0; i < fields.length; i += 2) {
        const lower = fields[i]!.toLowerCase();
        if (SWITCH_HEADERS.has(lower)) headers[lower] = fields[i + 1]!;
      }
      if (!stream.destroyed) stream.respond(headers);
    },
    answered(head) {
      if (!stream.destroyed) stream.respond(answerHeaders(head));
    },
    fail: (f) => respondH2Failure(stream, f),
  };
}

/**
 * The HTTP/2 frontend's hook for RFC 8441 extended CONNECT with `:protocol websocket`: the same
 * tunnels, key and replica as an HTTP/1.1 upgrade of the same request.
 */
export function h2WebSocket(
  tunnels: WebSocketTunnels,
  options: H2WebSocketOptions,
): (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void {
  return (stream, headers) => {
    const socket = stream.session?.socket as { remoteAddress?: string; encrypted?: boolean } | undefined;
    const remote = socket?.remoteAddress;
    const target = headers[':path'] ?? '/';
    tunnels.open(
      {
        // Routed as the GET it stands for, so that a WebSocket finds the same replica over either protocol.
        view: viewOf('GET', target, headers, remote),
        head: h2UpgradeHead(headers, remote, socket?.encrypted === true, options.trustForwarded),
        pending: null,
      },
      streamClient(stream),
    );
  };
}
