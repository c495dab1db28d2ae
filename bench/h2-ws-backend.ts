// The WebSocket echo backend of `npm run bench:h2`, for ringlb and nginx alike: every upgrade is
// accepted, and every frame a client sends comes back as one unmasked text frame with the same
// payload. Usage: node h2-ws-backend.js PORT
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { FrameReader, textFrame } from './lib/ws-frames.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

const server = createServer((_req, res) => res.end('ok'));
server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  const accept = createHash('sha1')
    .update(`${req.headers['sec-websocket-key'] ?? ''}${GUID}`)
    .digest('base64');
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\n\r\n`,
  );
  const reader = new FrameReader();
  const onData = (chunk: Buffer) => {
    for (const payload of reader.push(chunk)) socket.write(textFrame(payload, false));
  };
  if (head.length > 0) onData(head);
  socket.on('data', onData);
});
server.listen(Number(process.argv[2]), '127.0.0.1');
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(0));
