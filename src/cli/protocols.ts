import type { EdgeProtocols } from '../edge/edge.js';
import type { Config } from './config.js';

/** `h2c://host:port` marks a static backend spoken to over HTTP/2; its origin is still http://. */
export function backendOrigin(url: string): string {
  const parsed = new URL(url);
  return parsed.protocol === 'h2c:' ? `http://${parsed.host}` : parsed.origin;
}

/** Whether a replica is spoken to over HTTP/2 (requests and health checks alike). */
export function isH2Origin(config: Config): (origin: string) => boolean {
  const { h2Origins } = protocolsFromConfig(config);
  return h2Origins === 'all' ? () => true : (origin) => h2Origins.has(origin);
}

/** The protocols of the public listener and of the replicas, from the settings. */
export function protocolsFromConfig(config: Config): EdgeProtocols {
  const h2Origins =
    config.upstreamProtocol === 'h2c'
      ? 'all'
      : new Set(config.backends.filter((url) => url.startsWith('h2c:')).map(backendOrigin));
  return {
    ...(config.tlsCert !== undefined && config.tlsKey !== undefined
      ? { tls: { certPath: config.tlsCert, keyPath: config.tlsKey, minVersion: config.tlsMinVersion } }
      : {}),
    ...(config.httpRedirectPort !== undefined ? { httpRedirectPort: config.httpRedirectPort } : {}),
    http2: config.http2,
    h2c: config.h2c,
    wsIdleTimeoutMs: config.wsIdleTimeoutMs,
    h2Origins,
    h2Limits: {
      maxConcurrentStreams: config.h2MaxConcurrentStreams,
      maxHeaderListSize: config.maxHeaderSize,
      headersTimeoutMs: config.headersTimeoutMs,
      idleTimeoutMs: config.keepAliveTimeoutMs,
      maxBodySize: config.maxBodySize,
      maxResets: config.h2MaxResets,
      maxControlFrames: config.h2MaxControlFrames,
    },
  };
}
