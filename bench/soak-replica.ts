// One replica of the soak run, in a process of its own (so it can be SIGKILLed and SIGSTOPped). It
// speaks HTTP/1.1 and cleartext HTTP/2 on one port (the first bytes tell which), the way a replica
// behind an h2c:// backend URL does:
//   GET  /heartbeat          200, empty
//   GET  /home               the replica's greeting
//   GET  /blob?size=N        N bytes of a pattern the client checks (N ≤ 4 MiB)
//   POST /echo               reads the body; answers {"from","bytes","sha256"} of what it read
//   POST /soak.Echo/Echo     gRPC unary (HTTP/2): answers the request message back
//   WebSocket upgrade        echoes every message, prefixed with the replica's name
// The harness sets a misbehaviour over IPC: `slow` answers every request (not heartbeats) after a
// delay; `reset` sends the status line and half the body, then resets the connection (or stream).
import { createHash } from 'node:crypto';
import { createServer as createHttp1Server, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  constants,
  createServer as createHttp2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from 'node:http2';
import { createServer, type Socket } from 'node:net';
import { encodeFrame, FrameReader, switchingProtocols } from '../test/websocket-peer.js';
import { blobBytes, type ReplicaMode } from './soak-protocol.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const MAX_BLOB = 4 * 1024 * 1024;
const BLOB = blobBytes(MAX_BLOB);

const name = process.env.SOAK_REPLICA_NAME ?? 'soak';
let mode: ReplicaMode = { kind: 'normal' };

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;

function cut(res: Response): void {
  if ('stream' in res) res.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
  else res.socket?.destroy();
}

/** Sends `body` whole, or (in `reset` mode) the head and half of it, then resets. */
function answer(res: Response, status: number, headers: Record<string, string>, body: Buffer): void {
  const send = () => {
    if (res.destroyed) return;
    res.writeHead(status, { ...headers, 'content-length': String(body.length) });
    if (mode.kind === 'reset') {
      (res as ServerResponse).write(body.subarray(0, body.length >> 1));
      setTimeout(() => cut(res), 5);
      return;
    }
    res.end(body);
  };
  if (mode.kind === 'slow') setTimeout(send, mode.delayMs);
  else send();
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function handle(req: Request, res: Response): void {
  const url = new URL(req.url ?? '/', 'http://replica');
  const method = req.method ?? 'GET';
  if (url.pathname === '/heartbeat' || url.pathname === '/grpc.health.v1.Health/Check') {
    req.resume();
    res.writeHead(200, { 'content-length': '0' });
    res.end();
    return;
  }
  if (method === 'GET' && url.pathname === '/home') {
    req.resume();
    answer(res, 200, { 'content-type': 'application/json' }, json({ message: `Hello from Server: ${name}` }));
    return;
  }
  if (method === 'GET' && url.pathname === '/blob') {
    req.resume();
    const size = Number(url.searchParams.get('size') ?? 0);
    if (!Number.isInteger(size) || size < 0 || size > MAX_BLOB) {
      answer(res, 400, { 'content-type': 'text/plain' }, Buffer.from('size must be 0..4 MiB'));
      return;
    }
    answer(
      res,
      200,
      { 'content-type': 'application/octet-stream', 'x-replica': name },
      BLOB.subarray(0, size),
    );
    return;
  }
  if (method === 'POST' && (url.pathname === '/echo' || url.pathname === '/soak.Echo/Echo')) {
    const grpc = url.pathname !== '/echo';
    const hash = createHash('sha256');
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
      if (grpc) chunks.push(chunk);
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      if (!grpc) {
        answer(
          res,
          200,
          { 'content-type': 'application/json' },
          json({ from: name, bytes, sha256: hash.digest('hex') }),
        );
        return;
      }
      // gRPC: the request's length-prefixed message goes back as it came, then the status trailer.
      const message = Buffer.concat(chunks);
      const send = () => {
        const h2 = res as Http2ServerResponse;
        if (h2.destroyed) return;
        h2.writeHead(200, { 'content-type': 'application/grpc' });
        if (mode.kind === 'reset') {
          h2.write(message.subarray(0, message.length >> 1));
          setTimeout(() => cut(h2), 5);
          return;
        }
        h2.addTrailers({ 'grpc-status': '0' });
        h2.end(message);
      };
      if (mode.kind === 'slow') setTimeout(send, mode.delayMs);
      else send();
    });
    return;
  }
  req.resume();
  answer(res, 404, { 'content-type': 'text/plain' }, Buffer.from(`no ${method} ${url.pathname}`));
}

const http1 = createHttp1Server(handle);
http1.keepAliveTimeout = 5_000;
http1.on('upgrade', (req: IncomingMessage, socket: Socket) => {
  socket.on('error', () => socket.destroy());
  socket.write(switchingProtocols(req.headers['sec-websocket-key']));
  const reader = new FrameReader();
  socket.on('data', (chunk: Buffer) => {
    for (const frame of reader.push(chunk)) {
      if (frame.opcode === 0x8) {
        socket.end(encodeFrame(0x8, frame.payload, false));
        return;
      }
      if (frame.opcode === 0x9) {
        socket.write(encodeFrame(0xa, frame.payload, false));
        continue;
      }
      const reply = () => socket.write(encodeFrame(0x1, Buffer.from(`${name}:${frame.payload}`), false));
      if (mode.kind === 'slow') setTimeout(reply, mode.delayMs);
      else reply();
    }
  });
});
// Node's default maxSessionMemory (10 MB) counts the data queued to send: a balancer multiplexing
// dozens of streams of up to 1 MiB on a session (some to slow readers) passes it, and Node then
// refuses every new stream with RST_STREAM ENHANCE_YOUR_CALM (code 11), which the soak saw as POSTs
// failing with no fault at the time. A server behind a multiplexing proxy is given room for that.
const http2 = createHttp2Server({ maxSessionMemory: 128 }, handle);
http2.on('sessionError', () => undefined);

/** One port for both: a connection that opens with the HTTP/2 preface is HTTP/2. */
const server = createServer((socket) => {
  socket.on('error', () => socket.destroy());
  let head = Buffer.alloc(0);
  const sniff = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    const compared = Math.min(head.length, PREFACE.length);
    const isH2 = head.subarray(0, compared).equals(PREFACE.subarray(0, compared));
    if (isH2 && head.length < PREFACE.length) return;
    socket.off('data', sniff);
    socket.pause();
    socket.unshift(head);
    // HTTP/2 reads the unshifted bytes from the paused socket itself; HTTP/1.1 needs it flowing.
    if (isH2) http2.emit('connection', socket);
    else {
      http1.emit('connection', socket);
      socket.resume();
    }
  };
  socket.on('data', sniff);
});

process.on('message', (message: { type?: string; mode?: ReplicaMode }) => {
  if (message?.type === 'mode' && message.mode) mode = message.mode;
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

const port = Number(process.env.PORT ?? 0);
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  process.send?.({ type: 'listening', port: actual });
});
server.on('error', (error) => {
  process.send?.({ type: 'error', message: error.message });
  process.exit(1);
});
