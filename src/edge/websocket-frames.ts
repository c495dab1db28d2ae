/** WebSocket close codes the balancer sends (RFC 6455 §7.4, IANA registry). */
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_SERVICE_RESTART = 1012;

/** An unmasked close frame, as a server sends it, with a code and a short UTF-8 reason. */
export function closeFrame(code: number, reason: string): Buffer {
  const text = Buffer.from(reason, 'utf8');
  if (text.length > 123) throw new RangeError('a close reason is at most 123 bytes');
  const frame = Buffer.alloc(4 + text.length);
  frame[0] = 0x88; // FIN + opcode 8 (close)
  frame[1] = 2 + text.length;
  frame.writeUInt16BE(code, 2);
  text.copy(frame, 4);
  return frame;
}

/** Length of a frame header once its first bytes are known; 0 while it cannot be told yet. */
function headerLength(head: Uint8Array, have: number): number {
  if (have < 2) return 0;
  const len7 = head[1]! & 0x7f;
  const mask = head[1]! & 0x80 ? 4 : 0;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + mask;
}

function payloadLength(head: Uint8Array): number {
  const len7 = head[1]! & 0x7f;
  if (len7 === 126) return (head[2]! << 8) | head[3]!;
  if (len7 === 127) {
    let length = 0;
    for (let i = 2; i < 10; i++) length = length * 256 + head[i]!;
    return length;
  }
  return len7;
}

/**
 * Follows the frame boundaries of one direction of a WebSocket connection without buffering or
 * decoding payloads, so that the balancer can put a frame of its own (a close frame) between two of
 * the peer's frames and never in the middle of one.
 */
export class FrameScanner {
  readonly #head = new Uint8Array(14);
  #have = 0;
  #payloadLeft = 0;
  #sawClose = false;

  /** Between two frames (nothing of a frame seen yet, or the last one complete). */
  get atBoundary(): boolean {
    return this.#have === 0 && this.#payloadLeft === 0;
  }

  /** Whether a close frame has started in this direction. */
  get sawClose(): boolean {
    return this.#sawClose;
  }

  /**
   * Follows `chunk` and returns how many of its bytes were taken: all of them, or with
   * `stopAtBoundary` only those up to the first frame boundary (0 when already at one).
   */
  scan(chunk: Uint8Array, stopAtBoundary = false): number {
    let i = 0;
    while (i < chunk.length) {
      if (this.#payloadLeft > 0) {
        const take = Math.min(this.#payloadLeft, chunk.length - i);
        i += take;
        this.#payloadLeft -= take;
        if (this.#payloadLeft === 0 && stopAtBoundary) return i;
        continue;
      }
      if (stopAtBoundary && this.#have === 0) return i;
      this.#head[this.#have++] = chunk[i++]!;
      const need = headerLength(this.#head, this.#have);
      if (need > 0 && this.#have === need) {
        if ((this.#head[0]! & 0x0f) === 0x8) this.#sawClose = true;
        this.#payloadLeft = payloadLength(this.#head);
        this.#have = 0;
        if (this.#payloadLeft === 0 && stopAtBoundary) return i;
      }
    }
    return i;
  }
}
