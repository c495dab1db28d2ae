import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { FrontConnection, type FrontContext } from './front-connection.js';

/**
 * The listener clients connect to: every connection starts on the fast path and is handed to the
 * general-purpose `http.Server` (not listening itself) when a request needs it.
 */
export function createFastServer(ctx: Omit<FrontContext, 'handOver'>, general: HttpServer): NetServer {
  return createNetServer({ noDelay: true }, fastConnectionHandler(ctx, general));
}

/** Starts the fast path on a client connection of any kind (TCP, or TLS once its handshake is done). */
export function fastConnectionHandler(
  ctx: Omit<FrontContext, 'handOver'>,
  general: HttpServer,
): (socket: Socket) => void {
  const handOver = (socket: Socket, pending: Buffer | null) => {
    if (pending) socket.unshift(pending);
    general.emit('connection', socket);
    socket.resume();
  };
  const context: FrontContext = { ...ctx, handOver };
  return (socket) => void new FrontConnection(socket, context);
}
