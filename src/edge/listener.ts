import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Http2Server } from 'node:http2';
import { createServer as createTlsServer, type SecureContextOptions, type TLSSocket } from 'node:tls';

/** The first bytes of every HTTP/2 connection (RFC 9113 §3.4). */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface ListenerOptions {
  /** Certificate, key and TLS settings; absent for a cleartext listener. */
  readonly tls?: SecureContextOptions;
  /** Where HTTP/1.x connections go (the fast path). */
  readonly http1: (socket: Socket) => void;
  /** Where HTTP/2 connections go: `h2` by ALPN on TLS, prior knowledge on cleartext with `h2c`. */
  readonly http2?: Http2Server;
  /** Cleartext only: recognise the HTTP/2 preface and serve HTTP/2 without TLS. */
  readonly h2c: boolean;
  /** A client has this long for the TLS handshake, or to show which protocol it speaks. */
  readonly handshakeTimeoutMs: number;
}

/**
 * Waits for enough of the first bytes to tell the HTTP/2 preface from an HTTP/1.x request line, then
 * gives the connection, those bytes put back unread, to the right server.
 */
function sniff(socket: Socket, http1: (socket: Socket) => void, http2: Http2Server, timeoutMs: number): void {
  let seen: Buffer = Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  const onData = (chunk: Buffer) => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, PREFACE.length);
    const matches = seen.subarray(0, n).equals(PREFACE.subarray(0, n));
    if (matches && n < PREFACE.length) return;
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('close', onClose);
    socket.pause();
    socket.unshift(seen);
    if (matches) {
      http2.emit('connection', socket);
    } else {
      http1(socket);
      socket.resume();
    }
  };
  const onClose = () => clearTimeout(timer);
  socket.on('data', onData);
  socket.on('close', onClose);
  socket.on('error', () => socket.destroy());
}

/**
 * The public listener: plain TCP or TLS. On TLS, ALPN offers `h2` (when an HTTP/2 server is given)
 * and `http/1.1`; each connection goes to the server for the protocol it chose.
 */
export function createListener(options: ListenerOptions): NetServer {
  const { http1, http2 } = options;
  if (options.tls) {
    return createTlsServer(
      {
        ...options.tls,
        noDelay: true,
        ALPNProtocols: http2 ? ['h2', 'http/1.1'] : ['http/1.1'],
        handshakeTimeout: options.handshakeTimeoutMs,
      },
      (socket: TLSSocket) => {
        if (http2 && socket.alpnProtocol === 'h2') http2.emit('connection', socket);
        else http1(socket);
      },
    );
  }
  if (options.h2c && http2) {
    return createNetServer({ noDelay: true }, (socket) =>
      sniff(socket, http1, http2, options.handshakeTimeoutMs),
    );
  }
  return createNetServer({ noDelay: true }, http1);
}
