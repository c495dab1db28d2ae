import { connect, type Socket } from 'node:net';

/**
 * HTTP/2 frames written and read by hand on a plain socket (RFC 9113 §4, HPACK literals of RFC 7541
 * §6.2.2), for the attacks a real client library would not send: floods, rapid resets, oversized
 * or dribbled header blocks.
 */
export const FRAME = {
  DATA: 0,
  HEADERS: 1,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
export const ERROR = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  REFUSED_STREAM: 7,
  CANCEL: 8,
  ENHANCE_YOUR_CALM: 11,
} as const;

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export function frame(
  type: number,
  flags: number,
  stream: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK integer with an `n`-bit prefix (RFC 7541 §5.1). */
function hpackInt(value: number, prefixBits: number, firstByte = 0): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([firstByte | value]);
  const bytes = [firstByte | max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** A header block of literal fields without indexing, new names, no Huffman coding. */
export function headerBlock(fields: [string, string][]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    parts.push(Buffer.from([0x00]), hpackInt(name.length, 7), Buffer.from(name, 'latin1'));
    parts.push(hpackInt(Buffer.byteLength(value), 7), Buffer.from(value, 'latin1'));
  }
  return Buffer.concat(parts);
}

/** The header fields of a request (pseudo-headers first). */
export function requestFields(
  path: string,
  method = 'GET',
  extra: [string, string][] = [],
): [string, string][] {
  return [[':method', method], [':scheme', 'http'], [':authority', 'localhost'], [':path', path], ...extra];
}

/** HEADERS (END_HEADERS, and END_STREAM unless `body`), split into CONTINUATION frames past 16 KiB. */
export function headers(stream: number, fields: [string, string][], body = false): Buffer {
  const block = headerBlock(fields);
  const endStream = body ? 0 : FLAG.END_STREAM;
  const max = 16_384;
  if (block.length <= max) return frame(FRAME.HEADERS, FLAG.END_HEADERS | endStream, stream, block);
  const frames = [frame(FRAME.HEADERS, endStream, stream, block.subarray(0, max))];
  for (let at = max; at < block.length; at += max) {
    const last = at + max >= block.length;
    frames.push(frame(FRAME.CONTINUATION, last ? FLAG.END_HEADERS : 0, stream, block.subarray(at, at + max)));
  }
  return Buffer.concat(frames);
}

export function rstStream(stream: number, code: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(code);
  return frame(FRAME.RST_STREAM, 0, stream, payload);
}

export function ping(data = 0): Buffer {
  const payload = Buffer.alloc(8);
  payload.writeUInt32BE(data >>> 0, 4);
  return frame(FRAME.PING, 0, 0, payload);
}

export function settings(entries: [number, number][] = []): Buffer {
  const payload = Buffer.alloc(entries.length * 6);
  entries.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value, i * 6 + 2);
  });
  return frame(FRAME.SETTINGS, 0, 0, payload);
}

export interface ReadFrame {
  readonly type: number;
  readonly flags: number;
  readonly stream: number;
  readonly payload: Buffer;
}

/**
 * A raw HTTP/2 client connection: it sends the preface and an empty SETTINGS, ACKs the server's
 * SETTINGS, and records every frame the server sends until the connection closes.
 */
export class RawH2 {
  readonly socket: Socket;
  readonly frames: ReadFrame[] = [];
  readonly closed: Promise<void>;
  #buffer = Buffer.alloc(0);
  #waiters: (() => void)[] = [];

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    this.socket.write(Buffer.concat([PREFACE, settings()]));
    this.socket.on('data', (chunk: Buffer) => this.#read(chunk));
    this.closed.then(() => this.#wake());
  }

  send(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  #read(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    while (this.#buffer.length >= 9) {
      const length = this.#buffer.readUIntBE(0, 3);
      if (this.#buffer.length < 9 + length) break;
      const read: ReadFrame = {
        type: this.#buffer[3]!,
        flags: this.#buffer[4]!,
        stream: this.#buffer.readUInt32BE(5) & 0x7fffffff,
        payload: Buffer.from(this.#buffer.subarray(9, 9 + length)),
      };
      this.#buffer = this.#buffer.subarray(9 + length);
      this.frames.push(read);
      if (read.type === FRAME.SETTINGS && (read.flags & FLAG.ACK) === 0) {
        this.send(frame(FRAME.SETTINGS, FLAG.ACK, 0));
      }
    }
    this.#wake();
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** The first frame received that matches, waiting for it (undefined if the connection closes first). */
  async until(match: (frame: ReadFrame) => boolean, timeoutMs = 5_000): Promise<ReadFrame | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(match);
      if (found) return found;
      if (this.socket.destroyed || Date.now() > deadline) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The GOAWAY the server sent, with its error code. */
  goaway(): { lastStream: number; code: number } | undefined {
    const found = this.frames.find((f) => f.type === FRAME.GOAWAY);
    return (
      found && { lastStream: found.payload.readUInt32BE(0) & 0x7fffffff, code: found.payload.readUInt32BE(4) }
    );
  }

  /** The status of a response on `stream` (from its HEADERS: the server's HPACK is not decoded, so only whether one came). */
  responded(stream: number): boolean {
    return this.frames.some((f) => f.type === FRAME.HEADERS && f.stream === stream);
  }

  resetCode(stream: number): number | undefined {
    const found = this.frames.find((f) => f.type === FRAME.RST_STREAM && f.stream === stream);
    return found?.payload.readUInt32BE(0);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
