import { describe, expect, it } from 'vitest';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './headers.js';

describe('forwarded headers', () => {
  it('drops hop-by-hop headers, including those the Connection header names', () => {
    const out = upstreamRequestHeaders(
      {
        host: 'lb.example:5000',
        connection: 'keep-alive, x-secret-hop',
        'keep-alive': 'timeout=5',
        'x-secret-hop': '1',
        'transfer-encoding': 'chunked',
        'x-request-id': '42',
        accept: '*/*',
      },
      '127.0.0.1',
    );
    expect(out).toEqual({
      host: 'lb.example:5000',
      'x-request-id': '42',
      accept: '*/*',
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-host': 'lb.example:5000',
      'x-forwarded-proto': 'http',
    });
  });

  it('appends the client to an existing X-Forwarded-For', () => {
    const out = upstreamRequestHeaders({ 'x-forwarded-for': '10.0.0.1' }, '127.0.0.2');
    expect(out['x-forwarded-for']).toBe('10.0.0.1, 127.0.0.2');
  });

  it('passes response headers through, set-cookie lists included, without hop-by-hop ones', () => {
    const out = downstreamResponseHeaders({
      'content-type': 'text/plain',
      'set-cookie': ['a=1', 'b=2'],
      connection: 'close',
      'keep-alive': 'timeout=5',
      'transfer-encoding': 'chunked',
    });
    expect(out).toEqual({ 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] });
  });
});
