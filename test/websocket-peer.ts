import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The 101 a WebSocket server answers an upgrade with, for the client's `Sec-WebSocket-Key`. */
export function switchingProtocols(key: string | undefined): string {
  const accept = createHash('sha1').update(`${key}${GUID}`).digest('base64');
  return `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\n\r\n`;
}

export interface Frame {
  readonly opcode: number;
  readonly payload: Buffer;
}

/** A WebSocket frame; clients mask theirs (RFC 6455 §5.3). */
export function encodeFrame(opcode: number, payload: Buffer, masked: boolean): Buffer {
  const length = payload.length;
  const ext = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + ext + (masked ? 4 : 0));
  head[0] = 0x80 | opcode;
  head[1] = (masked ? 0x80 : 0) | (ext === 0 ? length : ext === 2 ? 126 : 127);
  if (ext === 2) head.writeUInt16BE(length, 2);
  if (ext === 8) head.writeBigUInt64BE(BigInt(length), 2);
  if (!masked) return Buffer.concat([head, payload]);
  const mask = randomBytes(4);
  mask.copy(head, 2 + ext);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= mask[i % 4]!;
  return Buffer.concat([head, body]);
}

/** Decodes whole frames from a byte stream as they complete. */
export class FrameReader {
  #buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    const frames: Frame[] = [];
    for (;;) {
      const b = this.#buffer;
      if (b.length < 2) return frames;
      const len7 = b[1]! & 0x7f;
      const masked = (b[1]! & 0x80) !== 0;
      let offset = 2;
      let length = len7;
      if (len7 === 126) {
        if (b.length < 4) return frames;
        length = b.readUInt16BE(2);
        offset = 4;
      } else if (len7 === 127) {
        if (b.length < 10) return frames;
        length = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      const maskAt = offset;
      if (masked) offset += 4;
      if (b.length < offset + length) return frames;
      const payload = Buffer.from(b.subarray(offset, offset + length));
      if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= b[maskAt + (i % 4)]!;
      frames.push({ opcode: b[0]! & 0x0f, payload });
      this.#buffer = b.subarray(offset + length);
    }
  }
}

/** How an echo replica answers upgrades: normally, by resetting the connection, or with a 403. */
export type UpgradeBehaviour = 'echo' | 'reset' | 'refuse';

export interface EchoReplica {
  readonly url: string;
  readonly server: Server;
  kill(): void;
  /** Bytes of "flood:N" frames whose writes completed (left this process). */
  readonly flooded: number;
  /** Upgrade requests received, with their headers. */
  readonly upgrades: IncomingMessage['headers'][];
}

/**
 * A WebSocket echo server that is also a plain HTTP server: it answers every request and every
 * message with its own name, so tests can see which replica they reached.
 */
export async function echoReplica(name: string, behaviour: UpgradeBehaviour = 'echo'): Promise<EchoReplica> {
  const sockets = new Set<Socket>();
  const upgrades: IncomingMessage['headers'][] = [];
  let flooded = 0;
  const server = createServer((req, res) => {
    // A request with a body is echoed after the name.
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => res.end(body ? `${name}:${body}` : name));
  });
  server.on('upgrade', (req, socket: Socket, head: Buffer) => {
    upgrades.push(req.headers);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    if (behaviour === 'reset') return void socket.resetAndDestroy();
    if (behaviour === 'refuse') {
      return void socket.end(
        `HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: ${name.length + 4}\r\n\r\nno: ${name}`,
      );
    }
    socket.write(switchingProtocols(req.headers['sec-websocket-key']));
    if (head.length > 0) process.nextTick(() => socket.emit('data', head));
    const reader = new FrameReader();
    socket.on('data', (chunk: Buffer) => {
      for (const frame of reader.push(chunk)) {
        if (frame.opcode === 0x8) {
          socket.end(encodeFrame(0x8, frame.payload, false));
          return;
        }
        const text = frame.payload.toString();
        // "flood:N" sends N bytes in 64 KiB frames as fast as the connection takes them.
        const flood = /^flood:(\d+)$/.exec(text);
        if (flood) {
          let left = Number(flood[1]);
          const frame64k = encodeFrame(0x2, Buffer.alloc(65536, 0x62), false);
          const more = (): void => {
            while (left > 0 && !socket.destroyed) {
              left -= 65536;
              const ok = socket.write(frame64k, () => (flooded += 65536));
              if (!ok) return void socket.once('drain', more);
            }
          };
          more();
          continue;
        }
        // "big:N" asks for one frame of N bytes, sent in two halves a moment apart.
        const big = /^big:(\d+)$/.exec(text);
        if (big) {
          const whole = encodeFrame(0x2, Buffer.alloc(Number(big[1]), 0x61), false);
          socket.write(whole.subarray(0, whole.length >> 1));
          setTimeout(() => socket.write(whole.subarray(whole.length >> 1)), 300);
          continue;
        }
        socket.write(encodeFrame(0x1, Buffer.from(`${name}:${text}`), false));
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const kill = () => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    kill,
    get flooded() {
      return flooded;
    },
    upgrades,
  };
}

/** Echo replicas with these names; each one's stop is pushed on `cleanups`. */
export async function echoReplicas(
  names: readonly string[],
  cleanups: (() => Promise<unknown> | void)[],
  behaviours: Record<string, UpgradeBehaviour> = {},
): Promise<EchoReplica[]> {
  const started = [];
  for (const name of names) {
    const replica = await echoReplica(name, behaviours[name]);
    cleanups.push(() => {
      replica.kill();
      return new Promise((resolve) => replica.server.close(resolve));
    });
    started.push(replica);
  }
  return started;
}

export interface WebSocketClient {
  readonly status: number;
  readonly socket: Socket;
  send(text: string): void;
  /** The next frame from the server (close frames included). */
  next(timeoutMs?: number): Promise<Frame>;
  /** Resolves when the TCP connection has closed. */
  readonly closed: Promise<void>;
}

/** A minimal WebSocket client over a raw socket (TLS with `ca`). */
export function openWebSocket(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  ca?: string,
): Promise<WebSocketClient> {
  return new Promise((resolve, reject) => {
    const socket: Socket = ca
      ? tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] })
      : connect(port, '127.0.0.1');
    const key = randomBytes(16).toString('base64');
    const extra = Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    socket.once(ca ? 'secureConnect' : 'connect', () =>
      socket.write(
        `GET ${path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nupgrade: websocket\r\nconnection: Upgrade\r\n` +
          `sec-websocket-key: ${key}\r\nsec-websocket-version: 13\r\n${extra}\r\n`,
      ),
    );
    const reader = new FrameReader();
    const frames: Frame[] = [];
    const waiters: ((frame: Frame) => void)[] = [];
    let head: Buffer | null = Buffer.alloc(0);
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      let rest = chunk;
      if (head) {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head.toString('latin1'))?.[1] ?? 0);
        rest = head.subarray(end + 4);
        head = null;
        resolve({
          status,
          socket,
          send: (text) => socket.write(encodeFrame(0x1, Buffer.from(text), true)),
          next: (timeoutMs = 5_000) =>
            new Promise<Frame>((got, fail) => {
              const ready = frames.shift();
              if (ready) return got(ready);
              const timer = setTimeout(() => fail(new Error('no frame in time')), timeoutMs);
              waiters.push((frame) => {
                clearTimeout(timer);
                got(frame);
              });
            }),
          closed,
        });
      }
      for (const frame of reader.push(rest)) {
        const waiter = waiters.shift();
        if (waiter) waiter(frame);
        else frames.push(frame);
      }
    });
  });
}

/** The code of a close frame. */
export function closeCode(frame: Frame): number {
  return frame.opcode === 0x8 && frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : -1;
}
