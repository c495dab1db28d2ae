import { describe, expect, it } from 'vitest';
import { BodyFraming } from './body-framing.js';
import { HttpParseError } from './parse-error.js';

const bytes = (text: string) => Buffer.from(text, 'latin1');

/** Feeds `text` in pieces of `every` bytes; returns where the body ended in the whole text (-1: not yet). */
function endOf(framing: BodyFraming, text: string, every: number): number {
  const buf = bytes(text);
  for (let start = 0; start < buf.length; start += every) {
    const end = Math.min(buf.length, start + every);
    const stop = framing.take(buf, start, end);
    if (framing.done) return stop;
    expect(stop).toBe(end);
  }
  return -1;
}

function refusal(run: () => unknown): number {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(HttpParseError);
    return (error as HttpParseError).status;
  }
  throw new Error('accepted');
}

describe('BodyFraming', () => {
  it('finds the end of a fixed-length body whatever the reads, and the next request after it', () => {
    for (const every of [1, 3, 10, 100])
      expect(endOf(new BodyFraming(10, false, 0), '0123456789GET', every)).toBe(10);
    expect(new BodyFraming(0, false, 0).done).toBe(true);
    expect(endOf(new BodyFraming(20, false, 0), '0123456789', 4)).toBe(-1);
  });

  it('finds the end of a chunked body whatever the reads', () => {
    const body = '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n';
    for (const every of [1, 2, 7, body.length + 3]) {
      expect(endOf(new BodyFraming(-1, true, 0), `${body}GET`, every)).toBe(body.length);
    }
  });

  it('refuses a chunked body whose data passes the limit (413), and broken framing (400)', () => {
    const framing = new BodyFraming(-1, true, 10);
    expect(endOf(framing, '5\r\nhello\r\n5\r\nworld\r\n', 100)).toBe(-1);
    expect(refusal(() => framing.take(bytes('1\r\n!'), 0, 4))).toBe(413);
    expect(refusal(() => new BodyFraming(-1, true, 0).take(bytes('5\r\nhelloX'), 0, 9))).toBe(400);
  });
});
