import type { Socket } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { FrontConnection, type FrontContext, type HandOverReason } from './front-connection.js';

/**
 * Starts the fast path on a client connection of any kind (TCP, or TLS once its handshake is done);
 * the connection is handed to the general-purpose `http.Server` (not listening itself) when a
 * request needs it.
 */
export function fastConnectionHandler(
  ctx: Omit<FrontContext, 'handOver'>,
  general: HttpServer,
): (socket: Socket) => void {
  const handOver = (socket: Socket, pending: Buffer | null, _reason: HandOverReason) => {
    if (pending) socket.unshift(pending);
    general.emit('connection', socket);
    socket.resume();
  };
  const context: FrontContext = { ...ctx, handOver };
  return (socket) => void new FrontConnection(socket, context);
}
