import { setting, wholeNumber } from '../../core/setting.js';

/**
 * HTTP/2's own limits on the public port. The header list size, the time to the first header and
 * the idle timeout are the HTTP/1.1 settings (`--max-header-size`, `--headers-timeout`,
 * `--keepalive-timeout`): one limit whatever the protocol. README "HTTP/2 settings and limits" says
 * how each compares with nginx's and Envoy's.
 */
export const HTTP2_SETTINGS = {
  h2MaxConcurrentStreams: setting({
    flag: 'h2-max-concurrent-streams',
    help: 'streams one HTTP/2 client connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS)',
    value: wholeNumber(1, 10_000),
    default: 128,
  }),
  h2MaxResets: setting({
    flag: 'h2-max-resets',
    help: 'streams a client may cancel before their response (rapid reset); past it, and past half its streams, the connection gets GOAWAY',
    value: wholeNumber(1, 1_000_000),
    default: 100,
  }),
  h2MaxControlFrames: setting({
    flag: 'h2-max-control-frames',
    help: 'PING and SETTINGS frames a client may send per second; more closes the connection with GOAWAY',
    value: wholeNumber(1, 1_000_000),
    default: 100,
  }),
};
