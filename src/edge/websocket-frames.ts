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

/**
 * Follows the frame boundaries of one direction of a WebSocket connection without buffering or
 * decoding payloads, so that the balancer can put a frame of its own (a close frame) between two of
 * the peer's frames and never in the middle of one. Its state is a few numbers and no buffer (a
 * tunnel extends it, so that an idle WebSocket costs no object more than it must).
 */
export class FrameScanner {
  /** Header bytes of the current frame seen so far (0 between frames and within a payload). */
  #have = 0;
  /** The header's whole length, known from its second byte. */
  #need = 2;
  /** Bytes of extended payload length (0, 2 or 8). */
  #extended = 0;
  #length = 0;
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
    const end = chunk.length;
    let i = 0;
    while (i < end) {
      if (this.#payloadLeft > 0) {
        const take = Math.min(this.#payloadLeft, end - i);
        i += take;
        this.#payloadLeft -= take;
        if (this.#payloadLeft === 0 && stopAtBoundary) return i;
        continue;
      }
      if (stopAtBoundary && this.#have === 0) return i;
      const byte = chunk[i++]!;
      const at = this.#have++;
      if (at === 0) {
        if ((byte & 0x0f) === 0x8) this.#sawClose = true;
        continue;
      }
      if (at === 1) {
        const len7 = byte & 0x7f;
        this.#extended = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
        this.#need = 2 + this.#extended + (byte & 0x80 ? 4 : 0);
        this.#length = this.#extended === 0 ? len7 : 0;
      } else if (at < 2 + this.#extended) {
        this.#length = this.#length * 256 + byte;
      }
      if (this.#have === this.#need) {
        this.#payloadLeft = this.#length;
        this.#have = 0;
        if (this.#payloadLeft === 0 && stopAtBoundary) return i;
      }
    }
    return i;
  }
}
