/**
 * The few WebSocket frames the benchmarks need (RFC 6455 §5.2): small text frames, masked from a
 * client and unmasked from a server, and a reader that takes them from a byte stream however it is
 * split. No extensions, no fragmentation.
 */

/** One text frame of `payload` (under 64 KiB), masked with a fixed key when `masked`. */
export function textFrame(payload: Buffer, masked: boolean): Buffer {
  const length = payload.length;
  const extended = length >= 126;
  const head = Buffer.alloc(2 + (extended ? 2 : 0) + (masked ? 4 : 0));
  head[0] = 0x81;
  head[1] = (masked ? 0x80 : 0) | (extended ? 126 : length);
  if (extended) head.writeUInt16BE(length, 2);
  if (!masked) return Buffer.concat([head, payload]);
  const key = head.subarray(head.length - 4);
  key.set([0x12, 0x34, 0x56, 0x78]);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= key[i & 3]!;
  return Buffer.concat([head, body]);
}

/** Frames out of a byte stream: `push` returns the payloads (unmasked) of the frames it completed. */
export class FrameReader {
  #pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    let buf = this.#pending.length > 0 ? Buffer.concat([this.#pending, chunk]) : chunk;
    const out: Buffer[] = [];
    for (;;) {
      if (buf.length < 2) break;
      const masked = (buf[1]! & 0x80) !== 0;
      let length = buf[1]! & 0x7f;
      let at = 2;
      if (length === 126) {
        if (buf.length < 4) break;
        length = buf.readUInt16BE(2);
        at = 4;
      } else if (length === 127) throw new Error('frames over 64 KiB are not for this benchmark');
      const keyAt = at;
      if (masked) at += 4;
      if (buf.length < at + length) break;
      const payload = Buffer.from(buf.subarray(at, at + length));
      if (masked) for (let i = 0; i < length; i++) payload[i]! ^= buf[keyAt + (i & 3)]!;
      out.push(payload);
      buf = buf.subarray(at + length);
    }
    this.#pending = buf;
    return out;
  }
}
