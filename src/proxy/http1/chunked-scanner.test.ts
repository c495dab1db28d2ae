import { describe, expect, it } from 'vitest';
import { ChunkedScanner } from './chunked-scanner.js';

const bytes = (text: string) => Buffer.from(text, 'latin1');

/** Scans `text` split into pieces at every position, so state carries across reads correctly. */
function scanAll(text: string, splitEvery = text.length): { end: number; data: string } {
  const scanner = new ChunkedScanner(400);
  const buf = bytes(text);
  let data = '';
  for (let start = 0; start < buf.length; start += splitEvery) {
    const stop = Math.min(buf.length, start + splitEvery);
    const end = scanner.scan(
      buf,
      start,
      stop,
      (b, from, to) => (data += Buffer.from(b.subarray(from, to)).toString('latin1')),
    );
    if (end >= 0) return { end, data };
  }
  return { end: -1, data };
}

describe('ChunkedScanner', () => {
  const body = '5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n';

  it('finds the end of a chunked body and decodes its data, whatever the read boundaries', () => {
    for (const split of [1, 2, 3, 7, body.length]) {
      expect(scanAll(body + 'NEXT', split)).toEqual({ end: body.length, data: 'hello world' });
    }
    expect(scanAll('0\r\n\r\n')).toEqual({ end: 5, data: '' });
    expect(scanAll('A\r\n0123456789\r\n0\r\n\r\n').data).toBe('0123456789');
  });

  it('keeps the trailer lines when asked, whatever the read boundaries', () => {
    const withTrailers = '3\r\nabc\r\n0\r\ngrpc-status: 0\r\nX-Checksum: 12ab\r\n\r\n';
    for (let split = 1; split <= withTrailers.length; split++) {
      const scanner = new ChunkedScanner(502, 16 * 1024, true);
      const buf = bytes(withTrailers);
      let end = -1;
      // Separate buffers, as reads give them, not ranges of one.
      for (let start = 0; start < buf.length && end < 0; start += split) {
        end = scanner.scan(
          Buffer.from(buf.subarray(start, start + split)),
          0,
          Math.min(split, buf.length - start),
        );
      }
      expect(end, `split every ${split}`).toBeGreaterThanOrEqual(0);
      expect(scanner.trailerLines, `split every ${split}`).toEqual(['grpc-status: 0', 'X-Checksum: 12ab']);
    }
    expect(new ChunkedScanner(502).trailerLines).toBeNull();
    const none = new ChunkedScanner(502, 16 * 1024, true);
    none.scan(bytes('0\r\n\r\n'), 0, 5);
    expect(none.trailerLines).toEqual([]);
  });

  it('asks for more bytes while the body is incomplete', () => {
    expect(scanAll('5\r\nhel').end).toBe(-1);
    expect(scanAll('5\r\nhello\r\n0\r\n').end).toBe(-1);
  });

  it('refuses malformed framing', () => {
    for (const bad of [
      'g\r\n',
      '\r\n',
      ' 5\r\nhello\r\n0\r\n\r\n',
      '5 \r\nhello\r\n0\r\n\r\n',
      '5\nhello\r\n0\r\n\r\n',
      '5\r\nhelloXX0\r\n\r\n',
      '5\r\nhello\n0\r\n\r\n',
      '-5\r\n',
      'fffffffffff\r\n',
      '5;a\x00\r\nhello\r\n0\r\n\r\n',
      '0\r\n folded\r\n\r\n',
      '0\r\nX: a\nb\r\n\r\n',
      '0\r\n\rx',
    ]) {
      expect(() => scanAll(bad), JSON.stringify(bad)).toThrow();
    }
  });
});
