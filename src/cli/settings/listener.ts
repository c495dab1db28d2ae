import { availableParallelism } from 'node:os';
import { setting, text, wholeNumber, yesNo } from '../../core/setting.js';

/** Where and how the balancer accepts clients. */
export const LISTENER_SETTINGS = {
  port: setting({
    flag: 'port',
    help: 'port to listen on (0 = any free port)',
    value: wholeNumber(0, 65535),
    default: 5000,
  }),
  host: setting({
    flag: 'host',
    help: 'address to listen on',
    value: text('an address'),
    default: '0.0.0.0',
  }),
  workers: setting({
    flag: 'workers',
    help: 'processes that proxy, sharing the port',
    value: wholeNumber(1, 64),
    default: Math.min(64, availableParallelism()),
    defaultText: 'the number of cores; 1 = a single process',
  }),
  maxConnections: setting({
    flag: 'max-connections',
    help: 'open client connections per process; more are refused at once',
    value: wholeNumber(0, 1_000_000),
    default: 10_000,
    defaultText: '10000; 0 = no cap',
  }),
  headersTimeoutMs: setting({
    flag: 'headers-timeout',
    help: 'ms a client has to send a whole request head',
    value: wholeNumber(100, 600_000),
    default: 10_000,
  }),
  keepAliveTimeoutMs: setting({
    flag: 'keepalive-timeout',
    help: 'ms an idle client connection stays open',
    value: wholeNumber(100, 3_600_000),
    default: 5_000,
  }),
  maxHeaderSize: setting({
    flag: 'max-header-size',
    help: 'bytes of request head accepted; more is a 431',
    value: wholeNumber(1024, 1024 * 1024),
    default: 16 * 1024,
  }),
  maxBodySize: setting({
    flag: 'max-body-size',
    help: 'bytes of proxied request body accepted; more is a 413',
    value: wholeNumber(0),
    default: 0,
    defaultText: '0 = no limit, streamed',
  }),
  trustForwarded: setting({
    flag: 'trust-forwarded',
    help: "keep the client's own X-Forwarded-For and append to it, instead of replacing it",
    value: yesNo(),
    default: false,
  }),
  http2: setting({
    flag: 'http2',
    help: 'offer HTTP/2 by ALPN on the TLS port',
    value: yesNo(),
    default: true,
  }),
  h2c: setting({
    flag: 'h2c',
    help: 'also accept cleartext HTTP/2 (prior knowledge) on a port without TLS',
    value: yesNo(),
    default: false,
  }),
  wsIdleTimeoutMs: setting({
    flag: 'ws-idle-timeout',
    help: 'ms a WebSocket may stay silent both ways before it is closed with 1001',
    value: wholeNumber(0, 86_400_000),
    default: 0,
    defaultText: '0 = never',
  }),
};
