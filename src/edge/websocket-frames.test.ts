import { describe, expect, it } from 'vitest';
import { encodeFrame as frame } from '../../test/websocket-peer.js';
import { closeFrame, FrameScanner } from './websocket-frames.js';

const SIZES = [0, 1, 125, 126, 127, 65535, 65536, 70000];

describe('FrameScanner', () => {
  it('finds every boundary whatever the frame size, mask and chunking', () => {
    for (const masked of [false, true]) {
      const frames = SIZES.map((size) => frame(0x2, Buffer.alloc(size, 7), masked));
      const stream = Buffer.concat(frames);
      const ends = new Set<number>();
      let offset = 0;
      for (const f of frames) ends.add((offset += f.length));
      for (const chunkSize of [1, 2, 3, 7, 100, 4096, stream.length]) {
        const scanner = new FrameScanner();
        for (let i = 0; i < stream.length; i += chunkSize) {
          const chunk = stream.subarray(i, Math.min(stream.length, i + chunkSize));
          if (scanner.scan(chunk) !== chunk.length) throw new Error(`chunk at ${i} not taken whole`);
          if (scanner.atBoundary !== ends.has(i + chunk.length))
            throw new Error(`boundary wrong after ${i + chunk.length} bytes (chunks of ${chunkSize})`);
        }
      }
    }
  });

  it('stops at the first boundary when asked, and takes nothing at a boundary', () => {
    const a = frame(0x1, Buffer.from('hello'), false);
    const b = frame(0x1, Buffer.alloc(300, 1), false);
    const scanner = new FrameScanner();
    const both = Buffer.concat([a, b]);
    expect(scanner.scan(both.subarray(0, 3))).toBe(3);
    expect(scanner.atBoundary).toBe(false);
    expect(scanner.scan(both.subarray(3), true)).toBe(a.length - 3);
    expect(scanner.atBoundary).toBe(true);
    expect(scanner.scan(both.subarray(a.length), true)).toBe(0);
  });

  it('stops after an empty frame', () => {
    const scanner = new FrameScanner();
    const ping = frame(0x9, Buffer.alloc(0), false);
    const two = Buffer.concat([ping, ping]);
    scanner.scan(two.subarray(0, 1));
    expect(scanner.scan(two.subarray(1), true)).toBe(ping.length - 1);
    expect(scanner.atBoundary).toBe(true);
  });

  it('notices a close frame', () => {
    const scanner = new FrameScanner();
    scanner.scan(frame(0x1, Buffer.from('x'), false));
    expect(scanner.sawClose).toBe(false);
    scanner.scan(closeFrame(1000, 'bye'));
    expect(scanner.sawClose).toBe(true);
    expect(scanner.atBoundary).toBe(true);
  });
});

describe('closeFrame', () => {
  it('encodes the code and reason', () => {
    expect([...closeFrame(1012, 'ab')]).toEqual([0x88, 4, 0x03, 0xf4, 0x61, 0x62]);
  });
  it('refuses a reason that does not fit a control frame', () => {
    expect(() => closeFrame(1000, 'x'.repeat(124))).toThrow(RangeError);
  });
});
