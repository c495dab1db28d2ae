import { describe, expect, it } from 'vitest';
import { configSchema } from './config.js';
import { backendOrigin, isH2Origin, protocolsFromConfig } from './protocols.js';

const parse = (input: object) =>
  configSchema.parse({ provider: 'static', backends: ['http://a:1'], ...input });

describe('protocol settings', () => {
  it('marks h2c:// backends (and only those) as HTTP/2, reached at their http:// origin', () => {
    const config = parse({ backends: ['http://a:1', 'h2c://b:2/'] });
    expect(config.backends.map(backendOrigin)).toEqual(['http://a:1', 'http://b:2']);
    const isH2 = isH2Origin(config);
    expect([isH2('http://a:1'), isH2('http://b:2')]).toEqual([false, true]);
  });

  it('marks every replica with --upstream-protocol h2c', () => {
    expect(isH2Origin(parse({ upstreamProtocol: 'h2c' }))('http://a:1')).toBe(true);
  });

  it('accepts 1.2/1.3 and TLSv1.2/TLSv1.3, and nothing older', () => {
    expect(parse({ tlsMinVersion: '1.3' }).tlsMinVersion).toBe('TLSv1.3');
    expect(parse({}).tlsMinVersion).toBe('TLSv1.2');
    expect(configSchema.safeParse({ tlsMinVersion: '1.1' }).success).toBe(false);
  });

  it('refuses half a TLS pair, a redirect without TLS, h2c with TLS, other backend schemes', () => {
    for (const bad of [
      { tlsKey: '/k' },
      { httpRedirectPort: 80 },
      { h2c: true, tlsCert: '/c', tlsKey: '/k' },
      { backends: ['https://a:1'] },
    ]) {
      expect(configSchema.safeParse({ provider: 'static', backends: ['http://a:1'], ...bad }).success).toBe(
        false,
      );
    }
  });

  it('passes TLS files and WebSocket idle timeout on to the edge', () => {
    const protocols = protocolsFromConfig(parse({ tlsCert: '/c', tlsKey: '/k', wsIdleTimeoutMs: 5 }));
    expect(protocols).toMatchObject({
      tls: { certPath: '/c', keyPath: '/k', minVersion: 'TLSv1.2' },
      wsIdleTimeoutMs: 5,
      h2c: false,
      http2: true,
    });
  });
});
