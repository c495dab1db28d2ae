import { describe, expect, it } from 'vitest';
import { CacheStore, previousOwnerOrigin } from './cache-store.js';
import { DEFAULT_CACHE_SIZE, parseReplicaArgs } from './replica-args.js';

const entry = (text: string) => ({ body: Buffer.from(text), contentType: 'text/plain' });

describe('CacheStore', () => {
  it('keeps at most its capacity, dropping the least recently used entry', () => {
    const store = new CacheStore(3);
    for (const key of ['/a', '/b', '/c']) store.set(key, entry(key));
    expect(store.get('/a')?.body.toString()).toBe('/a'); // /b is now the oldest
    store.set('/d', entry('/d'));
    expect(store.size).toBe(3);
    expect(store.get('/b')).toBeUndefined();
    expect(['/a', '/c', '/d'].map((k) => store.get(k)?.body.toString())).toEqual(['/a', '/c', '/d']);
    // Setting a key again replaces it without growing.
    store.set('/c', entry('/c2'));
    expect(store.size).toBe(3);
    expect(store.get('/c')?.body.toString()).toBe('/c2');
  });

  it('refuses a capacity below 1', () => {
    expect(() => new CacheStore(0)).toThrow(/at least 1/);
    expect(() => new CacheStore(1.5)).toThrow(/at least 1/);
  });
});

describe('previousOwnerOrigin: whom a hint says to ask', () => {
  it('reads the origin after the name', () => {
    expect(previousOwnerOrigin('Server 2 http://127.0.0.1:41237')).toBe('http://127.0.0.1:41237');
    expect(previousOwnerOrigin('S4 http://cache-4:80')).toBe('http://cache-4');
    expect(previousOwnerOrigin('S4 http://cache-4')).toBe('http://cache-4');
  });

  it('asks no one for a value ringlb does not write', () => {
    for (const value of [
      undefined,
      '',
      'http://127.0.0.1:1',
      'S4 https://a:1',
      'S4 http://a:1/path',
      'S4 http://a:1?x',
      'S4 ftp://a:1',
      'S4 not-a-url',
      'S4 http://user@a:1',
    ]) {
      expect(previousOwnerOrigin(value), String(value)).toBeUndefined();
    }
  });
});

describe('parseReplicaArgs', () => {
  it('no options: the seed replica', () => {
    expect(parseReplicaArgs([])).toEqual({ cacheSize: DEFAULT_CACHE_SIZE });
  });

  it('the cache mode, with its origin and size, in both spellings', () => {
    expect(parseReplicaArgs(['--cache', '--origin', 'http://127.0.0.1:9000'])).toEqual({
      cacheOrigin: 'http://127.0.0.1:9000',
      cacheSize: DEFAULT_CACHE_SIZE,
    });
    expect(parseReplicaArgs(['--origin=http://o:1/', '--cache', '--cache-size=5'])).toEqual({
      cacheOrigin: 'http://o:1',
      cacheSize: 5,
    });
  });

  it('says what is wrong', () => {
    expect(() => parseReplicaArgs(['--cache'])).toThrow('--cache needs --origin');
    expect(() => parseReplicaArgs(['--origin', 'http://o:1'])).toThrow('add --cache');
    expect(() => parseReplicaArgs(['--cache', '--origin'])).toThrow('--origin needs a value');
    expect(() => parseReplicaArgs(['--cache', '--origin', 'https://o:1'])).toThrow('http://host:port');
    expect(() => parseReplicaArgs(['--cache', '--origin', 'http://o:1/x'])).toThrow('http://host:port');
    expect(() => parseReplicaArgs(['--cache', '--origin', 'http://o:1', '--cache-size', '0'])).toThrow(
      '--cache-size',
    );
    expect(() => parseReplicaArgs(['--cache', '--origin', 'http://o:1', '--cache-size', '2x'])).toThrow(
      '--cache-size',
    );
    expect(() => parseReplicaArgs(['--cache=yes'])).toThrow('unknown option');
    expect(() => parseReplicaArgs(['--port', '1'])).toThrow('unknown option "--port"');
  });
});
