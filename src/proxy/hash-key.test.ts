import { describe, expect, it } from 'vitest';
import { xxh32String } from '../core/xxhash32.js';
import {
  clientAddress,
  cookieValue,
  formatHashKey,
  hashKeyExtractor,
  parseHashKey,
  pathOf,
  queryValue,
  uriOf,
} from './hash-key.js';
import { viewOf } from './request-view.js';

function view(target = '/home', headers: Record<string, string> = {}, remote = '127.0.0.1') {
  return viewOf('GET', target, headers, remote);
}

/** An extractor whose fallbacks are counted and whose random id is fixed. */
function extractor(spec: string) {
  const state = { fallbacks: 0 };
  const key = hashKeyExtractor(parseHashKey(spec), {
    onFallback: () => state.fallbacks++,
    random: () => 0.5,
  });
  return { key, state };
}

const RANDOM_ID = 100_000 + 450_000;

describe('parseHashKey', () => {
  it('accepts every form and prints it back', () => {
    for (const spec of [
      'request-id',
      'ip',
      'path',
      'uri',
      'header:x-user',
      'cookie:session',
      'query:user_id',
    ]) {
      expect(formatHashKey(parseHashKey(spec))).toBe(spec);
    }
    expect(parseHashKey(' header:X-User ')).toEqual({ kind: 'header', name: 'x-user' });
    expect(parseHashKey('cookie:Session')).toEqual({ kind: 'cookie', name: 'Session' });
  });

  it('refuses bad specs with a message that says what is wrong', () => {
    expect(() => parseHashKey('url')).toThrow(
      'unknown hash key "url": use request-id, header:<name>, cookie:<name>, ip, path, uri or query:<param>',
    );
    expect(() => parseHashKey('uri:x')).toThrow(/unknown hash key "uri:x"/);
    expect(() => parseHashKey('URI')).toThrow(/unknown hash key "URI"/);
    expect(() => parseHashKey('body:x')).toThrow(/unknown hash key "body:x"/);
    expect(() => parseHashKey('header:')).toThrow('hash key "header:" needs a header name after "header:"');
    expect(() => parseHashKey('query:')).toThrow(/needs a query parameter/);
    expect(() => parseHashKey('header:x user')).toThrow('"x user" is not a valid header name');
    expect(() => parseHashKey('cookie:a;b')).toThrow(/not a valid cookie name/);
    expect(() => parseHashKey('query:a=b')).toThrow(/not a valid query parameter/);
    expect(() => parseHashKey('')).toThrow(/unknown hash key ""/);
  });
});

describe('key parts', () => {
  it('finds a cookie among others, unquoted', () => {
    expect(cookieValue('a=1; session=abc; b=2', 'session')).toBe('abc');
    expect(cookieValue('session="q v"', 'session')).toBe('q v');
    expect(cookieValue('sessionx=1; xsession=2', 'session')).toBeUndefined();
    expect(cookieValue(undefined, 'session')).toBeUndefined();
  });

  it('finds the first query parameter, decoded', () => {
    expect(queryValue('/a?user=7&user=8', 'user')).toBe('7');
    expect(queryValue('/a?x=1&na%20me=J%C3%BCrgen+M', 'na me')).toBe('Jürgen M');
    expect(queryValue('/a?flag&x=1', 'flag')).toBe('');
    expect(queryValue('/a?x=%E0%A4%A', 'x')).toBe('%E0%A4%A');
    expect(queryValue('/a#?user=1', 'user')).toBeUndefined();
    expect(queryValue('/a?x=1#user=1', 'user')).toBeUndefined();
    expect(queryValue('/a', 'user')).toBeUndefined();
  });

  it('takes the path without query or fragment, and IPv4-mapped addresses as IPv4', () => {
    expect(pathOf('/home?x=1')).toBe('/home');
    expect(pathOf('/home#top')).toBe('/home');
    expect(pathOf('/')).toBe('/');
    expect(clientAddress('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(clientAddress('::1')).toBe('::1');
    expect(clientAddress(undefined)).toBeUndefined();
  });

  it("takes the path with its query as sent, like nginx's $request_uri", () => {
    expect(uriOf('/home?x=1&y=2')).toBe('/home?x=1&y=2');
    expect(uriOf('/a%20b?q=%C3%BC+1')).toBe('/a%20b?q=%C3%BC+1');
    expect(uriOf('/home')).toBe('/home');
    expect(uriOf('/home?')).toBe('/home?');
    expect(uriOf('/home?x=1#top')).toBe('/home?x=1');
    expect(uriOf('*')).toBe('*');
    // Absolute form lands where its origin form does.
    expect(uriOf('http://example.com/home?x=1')).toBe('/home?x=1');
    expect(uriOf('HTTPS://example.com:8443/a')).toBe('/a');
    expect(uriOf('http://example.com')).toBe('/');
    expect(uriOf('http://example.com?x=1')).toBe('/?x=1');
    // Not a scheme: a relative-looking target is kept whole.
    expect(uriOf('example.com:443')).toBe('example.com:443');
  });
});

describe('hashKeyExtractor', () => {
  it("request-id: the seed's integer id, else a random 6-digit id and a fallback", () => {
    const { key, state } = extractor('request-id');
    expect(key(view('/home', { 'x-request-id': '42' }))).toBe(42);
    expect(state.fallbacks).toBe(0);
    expect(key(view('/home', { 'x-request-id': 'abc' }))).toBe(RANDOM_ID);
    expect(key(view('/home'))).toBe(RANDOM_ID);
    expect(state.fallbacks).toBe(2);
  });

  it('header: the xxHash32 of its value, case-insensitive name', () => {
    const { key, state } = extractor('header:X-User');
    expect(key(view('/', { 'x-user': 'alice' }))).toBe(xxh32String('alice'));
    expect(key(view('/', { 'x-user': '' }))).toBe(RANDOM_ID);
    expect(key(view('/'))).toBe(RANDOM_ID);
    expect(state.fallbacks).toBe(2);
  });

  it('cookie, query, ip and path', () => {
    const cookie = extractor('cookie:sid');
    expect(cookie.key(view('/', { cookie: 'sid=s1; other=2' }))).toBe(xxh32String('s1'));
    expect(cookie.key(view('/', { cookie: 'other=2' }))).toBe(RANDOM_ID);
    expect(cookie.state.fallbacks).toBe(1);

    const query = extractor('query:user');
    expect(query.key(view('/a?user=bob'))).toBe(xxh32String('bob'));
    expect(query.key(view('/a?user='))).toBe(RANDOM_ID);
    expect(query.state.fallbacks).toBe(1);

    const ip = extractor('ip');
    expect(ip.key(view('/', {}, '::ffff:10.1.2.3'))).toBe(xxh32String('10.1.2.3'));
    expect(ip.key(viewOf('GET', '/', {}, undefined))).toBe(RANDOM_ID);
    expect(ip.state.fallbacks).toBe(1);

    const path = extractor('path');
    expect(path.key(view('/cart?x=1'))).toBe(path.key(view('/cart?y=2')));
    expect(path.key(view('/cart'))).toBe(xxh32String('/cart'));
    expect(path.state.fallbacks).toBe(0);

    const uri = extractor('uri');
    expect(uri.key(view('/cart?x=1'))).toBe(xxh32String('/cart?x=1'));
    expect(uri.key(view('/cart?x=1'))).not.toBe(uri.key(view('/cart?x=2')));
    expect(uri.key(view('/cart?x=1'))).not.toBe(uri.key(view('/cart')));
    expect(uri.key(view('http://shop.example/cart?x=1'))).toBe(uri.key(view('/cart?x=1')));
    expect(uri.key(view('/cart?x=1#a'))).toBe(uri.key(view('/cart?x=1')));
    expect(uri.state.fallbacks).toBe(0);
  });

  it('gives the same key for the same value, and different keys for different values', () => {
    const { key } = extractor('header:x-user');
    const keys = new Set(Array.from({ length: 1000 }, (_, i) => key(view('/', { 'x-user': `u${i}` }))));
    expect(keys.size).toBe(1000);
    expect(key(view('/', { 'x-user': 'u1' }))).toBe(key(view('/x', { 'x-user': 'u1' })));
  });
});
