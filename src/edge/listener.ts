import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Http2Server } from 'node:http2';
import type { SecureContextOptions, Server as TlsServer, TLSSocket } from 'node:tls';
import { seedMessage } from '../core/errors.js';
import { tls as loadTls } from './lazy-protocols.js';

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

const TLS_HANDSHAKE = 0x16;
const PLAIN_HTTP_BODY = JSON.stringify({
  message: seedMessage('this port speaks TLS: use https://'),
  status: 'failure',
});
const PLAIN_HTTP_REPLY =
  'HTTP/1.1 400 Bad Request\r\ncontent-type: application/json; charset=utf-8\r\n' +
  `content-length: ${Buffer.byteLength(PLAIN_HTTP_BODY)}\r\nconnection: close\r\n\r\n${PLAIN_HTTP_BODY}`;

function sniffTls(socket: Socket, tls: TlsServer, timeoutMs: number): void {
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  socket.on('error', () => socket.destroy());
  socket.once('close', () => clearTimeout(timer));
  socket.once('data', (chunk: Buffer) => {
    clearTimeout(timer);
    socket.pause();
    if (chunk[0] === TLS_HANDSHAKE) {
      // TLSSocket takes the bytes already read from its socket before reading more.
      socket.unshift(chunk);
      tls.emit('connection', socket);
      return;
    }
    if (/^[A-Z]+ /.test(chunk.toString('latin1', 0, 8))) socket.end(PLAIN_HTTP_REPLY);
    else socket.destroy();
  });
}

/**
 * The public listener: plain TCP or TLS. On TLS, ALPN offers `h2` (when an HTTP/2 server is given)
 * and `http/1.1`; each connection goes to the server for the protocol it chose.
 */
export function createListener(options: ListenerOptions): NetServer {
  const { http1, http2 } = options;
  if (options.tls) {
    const tls = loadTls().createServer(
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
    // The TCP listener looks at the first byte: a TLS handshake goes on to the TLS server, plain
    // HTTP gets a 400 that says to use https (as nginx does) instead of a closed connection.
    const server = createNetServer({ noDelay: true }, (socket) =>
      sniffTls(socket, tls, options.handshakeTimeoutMs),
    );
    return Object.assign(server, {
      setSecureContext: (context: SecureContextOptions) => tls.setSecureContext(context),
    });
  }
  if (options.h2c && http2) {
    return createNetServer({ noDelay: true }, (socket) =>
      sniff(socket, http1, http2, options.handshakeTimeoutMs),
    );
  }
  return createNetServer({ noDelay: true }, http1);
}
