import { describe, expect, it } from 'vitest';
import { HttpParseError } from './parse-error.js';
import { headerValue, parseRequestHead } from './request-head.js';

const head = (...lines: string[]) => lines.join('\r\n');

function refused(text: string): number {
  try {
    parseRequestHead(text);
  } catch (error) {
    expect(error).toBeInstanceOf(HttpParseError);
    return (error as HttpParseError).status;
  }
  throw new Error(`accepted: ${JSON.stringify(text)}`);
}

describe('parseRequestHead', () => {
  it('reads method, target, version and fields', () => {
    const parsed = parseRequestHead(
      head('GET /home?x=1 HTTP/1.1', 'Host: lb', 'X-Request-Id:  42 ', 'Accept: */*'),
    );
    expect(parsed).toMatchObject({
      method: 'GET',
      target: '/home?x=1',
      minor: 1,
      contentLength: -1,
      chunked: false,
      keepAlive: true,
      upgrade: false,
      originForm: true,
    });
    expect(parsed.fields).toEqual(['Host', 'lb', 'X-Request-Id', '42', 'Accept', '*/*']);
    expect(headerValue(parsed.fields, 'x-request-id')).toBe('42');
    expect(headerValue(parsed.fields, 'absent')).toBeUndefined();
  });

  it('joins repeated headers and reads keep-alive by version', () => {
    const parsed = parseRequestHead(
      head('GET / HTTP/1.1', 'Host: a', 'Cookie: a=1', 'cookie: b=2', 'Connection: close'),
    );
    expect(headerValue(parsed.fields, 'cookie')).toBe('a=1, b=2');
    expect(parsed.keepAlive).toBe(false);
    expect(parseRequestHead('GET / HTTP/1.0').keepAlive).toBe(false);
    expect(parseRequestHead(head('GET / HTTP/1.0', 'Connection: Keep-Alive')).keepAlive).toBe(true);
  });

  it('reads lengths, chunked, upgrade and expect', () => {
    expect(parseRequestHead(head('POST / HTTP/1.1', 'Host: a', 'Content-Length: 12')).contentLength).toBe(12);
    expect(parseRequestHead(head('POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding: Chunked')).chunked).toBe(
      true,
    );
    expect(
      parseRequestHead(head('GET / HTTP/1.1', 'Host: a', 'Connection: Upgrade', 'Upgrade: websocket'))
        .upgrade,
    ).toBe(true);
    expect(parseRequestHead(head('GET / HTTP/1.1', 'Host: a', 'Upgrade: websocket')).upgrade).toBe(false);
    expect(parseRequestHead(head('PUT / HTTP/1.1', 'Host: a', 'Expect: 100-continue')).expectContinue).toBe(
      true,
    );
    expect(parseRequestHead(head('OPTIONS * HTTP/1.1', 'Host: a')).originForm).toBe(true);
    expect(parseRequestHead(head('GET http://a/ HTTP/1.1', 'Host: a')).originForm).toBe(false);
  });

  it('refuses request smuggling: conflicting or repeated framing', () => {
    expect(
      refused(head('POST / HTTP/1.1', 'Host: a', 'Content-Length: 5', 'Transfer-Encoding: chunked')),
    ).toBe(400);
    expect(
      refused(head('POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding: chunked', 'Content-Length: 5')),
    ).toBe(400);
    expect(refused(head('POST / HTTP/1.1', 'Host: a', 'Content-Length: 5', 'Content-Length: 6'))).toBe(400);
    expect(refused(head('POST / HTTP/1.1', 'Host: a', 'Content-Length: 5', 'Content-Length: 5'))).toBe(400);
    expect(refused(head('POST / HTTP/1.1', 'Host: a', 'Content-Length: 5, 6'))).toBe(400);
    expect(refused(head('POST / HTTP/1.1', 'Host: a', 'Content-Length: +5'))).toBe(400);
    expect(refused(head('POST / HTTP/1.1', 'Host: a', 'Content-Length: 0x5'))).toBe(400);
    expect(refused(head('POST / HTTP/1.1', 'Host: a', 'Content-Length: 5 5'))).toBe(400);
    expect(refused(head('POST / HTTP/1.1', 'Host: a', 'Content-Length:'))).toBe(400);
    expect(refused(head('POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding: gzip, chunked'))).toBe(400);
    expect(refused(head('POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding: chunked, gzip'))).toBe(400);
    expect(
      refused(head('POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding: chunked', 'Transfer-Encoding: chunked')),
    ).toBe(400);
    expect(refused(head('POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding: xchunked'))).toBe(400);
    expect(refused(head('POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding: chunked ,'))).toBe(400);
    expect(refused(head('POST / HTTP/1.0', 'Transfer-Encoding: chunked'))).toBe(400);
  });

  it('refuses whitespace before a colon, folding, bad names and control characters', () => {
    expect(refused(head('GET / HTTP/1.1', 'Host: a', 'Content-Length : 5'))).toBe(400);
    expect(refused(head('GET / HTTP/1.1', 'Host: a', 'Transfer-Encoding\t: chunked'))).toBe(400);
    expect(refused(head('GET / HTTP/1.1', 'Host: a', 'X-A: 1', ' folded'))).toBe(400);
    expect(refused(head('GET / HTTP/1.1', 'Host: a', 'X-A: 1', '\tfolded'))).toBe(400);
    expect(refused(head('GET / HTTP/1.1', 'Host: a', 'X A: 1'))).toBe(400);
    expect(refused(head('GET / HTTP/1.1', 'Host: a', ': empty-name'))).toBe(400);
    expect(refused(head('GET / HTTP/1.1', 'Host: a', 'no-colon'))).toBe(400);
    expect(refused(head('GET / HTTP/1.1', 'Host: a', 'X-A: a\x00b'))).toBe(400);
    expect(refused(head('GET / HTTP/1.1', 'Host: a', 'X-A: a\x7fb'))).toBe(400);
    expect(refused('GET / HTTP/1.1\r\nHost: a\nX-A: 1')).toBe(400);
    expect(refused('GET / HTTP/1.1\r\nHost: a\rX-A: 1')).toBe(400);
  });

  it('refuses bad request lines and versions, and HTTP/1.1 without exactly one Host', () => {
    expect(refused('GET  / HTTP/1.1')).toBe(400);
    expect(refused('GET / HTTP/1.1 extra\r\nHost: a')).toBe(400);
    expect(refused('G(T / HTTP/1.1\r\nHost: a')).toBe(400);
    expect(refused('GET /a\x01b HTTP/1.1\r\nHost: a')).toBe(400);
    expect(refused('GET / HTTP/2.0\r\nHost: a')).toBe(505);
    expect(refused('GET / http/1.1\r\nHost: a')).toBe(400);
    expect(refused('GET /')).toBe(400);
    expect(refused('GET / HTTP/1.1')).toBe(400);
    expect(refused(head('GET / HTTP/1.1', 'Host: a', 'Host: b'))).toBe(400);
    expect(refused(head('GET / HTTP/1.1', 'Host: a', 'Expect: something'))).toBe(417);
  });

  it('refuses too many header fields with 431', () => {
    const many = Array.from({ length: 200 }, (_, i) => `X-${i}: v`);
    expect(refused(head('GET / HTTP/1.1', 'Host: a', ...many))).toBe(431);
  });
});
