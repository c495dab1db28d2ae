import { describe, expect, it } from 'vitest';
import { fuzzCase, MUTATIONS, Random, TEMPLATES } from './request-mutations.js';
import { readStrictly } from './request-stream.js';

const bytes = (text: string) => Buffer.from(text, 'latin1');

describe('readStrictly', () => {
  it('reads every template as whole, accepted requests', () => {
    const counts = TEMPLATES.map((template) => {
      const reading = readStrictly(bytes(template));
      expect(reading.refused).toBeUndefined();
      expect(reading.incomplete).toBe(false);
      return reading.requests.map((r) => `${r.method} ${r.target}`);
    });
    expect(counts[5]).toEqual(['GET /fuzz/one', 'GET /fuzz/two']);
    expect(counts[6]).toEqual(['POST /fuzz/first', 'GET /fuzz/second']);
  });

  it('stops at the first refusal and keeps what came before it', () => {
    const reading = readStrictly(
      bytes(
        'GET /a HTTP/1.1\r\nHost: t\r\n\r\nPOST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /c HTTP/1.1\r\nHost: t\r\n\r\n',
      ),
    );
    expect(reading.requests.map((r) => r.target)).toEqual(['/a']);
    expect(reading.refused).toBe('Content-Length together with Transfer-Encoding');
  });

  it('refuses bad chunk framing and reports incomplete bodies and heads', () => {
    const chunked = 'POST /b HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n';
    expect(readStrictly(bytes(`${chunked}zz\r\n`)).refused).toBe('invalid chunk size');
    expect(readStrictly(bytes(`${chunked}5\r\nhel`))).toMatchObject({
      refused: undefined,
      incomplete: true,
      complete: 0,
    });
    expect(
      readStrictly(bytes('POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 9\r\n\r\nabc')).incomplete,
    ).toBe(true);
    expect(readStrictly(bytes('GET /a HTTP/1.1\r\nHo'))).toMatchObject({ requests: [], incomplete: true });
    // A read that ends right after a line's CRLF, or between its CR and LF, is just an unfinished head.
    expect(readStrictly(bytes('GET /a HTTP/1.1\r\n'))).toMatchObject({
      refused: undefined,
      incomplete: true,
    });
    expect(readStrictly(bytes('GET /a HTTP/1.1\r'))).toMatchObject({ refused: undefined, incomplete: true });
    expect(readStrictly(bytes('GET /a HTTP/1.1\nHost: t\n')).refused).toBe('line breaks must be CRLF');
    expect(readStrictly(bytes(`GET /a HTTP/1.1\r\nX: ${'a'.repeat(20_000)}`)).refused).toBe('head too large');
  });

  it('reads nothing after a request that closes the connection', () => {
    const reading = readStrictly(
      bytes('GET /a HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\n\r\n'),
    );
    expect(reading.requests.map((r) => r.target)).toEqual(['/a']);
  });
});

describe('request mutations', () => {
  it('are deterministic for a seed and differ between seeds', () => {
    const run = (seed: number) => Array.from({ length: 50 }, (_, i) => fuzzCase(seed, i).bytes);
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });

  it('each change the request it is given (most of the time)', () => {
    for (const [name, mutate] of Object.entries(MUTATIONS)) {
      const random = new Random(1);
      let changed = 0;
      for (let i = 0; i < 40; i++) {
        const template = TEMPLATES[i % TEMPLATES.length]!;
        if (mutate(template, random) !== template) changed++;
      }
      // chunkSize only applies to the chunked template; the others to nearly every template.
      expect(changed, name).toBeGreaterThanOrEqual(name === 'chunkSize' ? 3 : 20);
    }
  });

  it('give a run in which a strict parser refuses many cases and accepts many', () => {
    let refused = 0;
    let accepted = 0;
    for (let i = 0; i < 300; i++) {
      const reading = readStrictly(bytes(fuzzCase(0xf022, i).bytes));
      if (reading.refused !== undefined) refused++;
      if (reading.requests.length > 0) accepted++;
    }
    expect(refused).toBeGreaterThan(60);
    expect(accepted).toBeGreaterThan(60);
  });
});
