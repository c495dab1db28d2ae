import { isIPv6 } from 'node:net';

/** The origin of a server at host:port, an IPv6 address in brackets: `http://[fd00::2]:8080`. */
export function httpOrigin(host: string, port: number): string {
  return `http://${isIPv6(host) ? `[${host}]` : host}:${port}`;
}
