import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { HOP_BY_HOP_FIELDS } from '../proxy/headers.js';
import type { RequestView } from '../proxy/request-view.js';

/** Never passed on: hop-by-hop fields (HTTP/2 forbids them anyway, RFC 9113 §8.2.2) and the ones we set. */
const DROPPED = new Set([
  ...HOP_BY_HOP_FIELDS,
  'host',
  'expect',
  'transfer-encoding',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
]);

/**
 * One client stream's request head, read once: what the hash key and the logs see, and the head
 * in the two forms a replica is sent (HTTP/1.1 bytes for the fast pools, HTTP/2 headers for h2c
 * replicas), each built at most once however many attempts there are.
 */
export class H2Request implements RequestView {
  readonly method: string;
  readonly target: string;
  readonly authority: string;
  readonly remoteAddress: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly grpc: boolean;
  /** The stream's body ended with its headers (END_STREAM on HEADERS). */
  readonly bodyless: boolean;
  readonly #encrypted: boolean;
  readonly #trustForwarded: boolean;
  #http1: Buffer | null = null;
  #http2: OutgoingHttpHeaders | null = null;

  constructor(
    headers: IncomingHttpHeaders,
    endStream: boolean,
    remoteAddress: string | undefined,
    encrypted: boolean,
    trustForwarded: boolean,
  ) {
    this.headers = headers;
    this.method = headers[':method'] ?? 'GET';
    this.target = headers[':path'] ?? '/';
    this.authority = headers[':authority'] ?? headers.host ?? '';
    this.remoteAddress = remoteAddress;
    this.grpc = (headers['content-type'] ?? '').startsWith('application/grpc');
    this.bodyless = endStream || headers['content-length'] === '0';
    this.#encrypted = encrypted;
    this.#trustForwarded = trustForwarded;
  }

  header(name: string): string | undefined {
    if (name === 'host') return this.authority || undefined;
    const value = this.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  }

  get pathname(): string {
    const query = this.target.indexOf('?');
    return query < 0 ? this.target : this.target.slice(0, query);
  }

  #forwardedFor(): string {
    const client = this.remoteAddress ?? '';
    const given = this.#trustForwarded ? this.headers['x-forwarded-for'] : undefined;
    return given ? `${Array.isArray(given) ? given.join(', ') : given}, ${client}` : client;
  }

  /** A body without Content-Length goes to an HTTP/1.1 replica in chunked framing. */
  get chunkedUpstream(): boolean {
    return !this.bodyless && this.headers['content-length'] === undefined;
  }

  /** The head as an HTTP/1.1 replica is sent it, its body's framing included. */
  http1Head(): Buffer {
    if (this.#http1) return this.#http1;
    let out = `${this.method} ${this.target} HTTP/1.1\r\nhost: ${this.authority}\r\n`;
    if (this.chunkedUpstream) out += 'transfer-encoding: chunked\r\n';
    for (const name in this.headers) {
      if (name[0] === ':' || DROPPED.has(name)) continue;
      const value = this.headers[name];
      if (value === undefined) continue;
      // HTTP/2 may split cookies over several fields; Node has joined them already (RFC 9113 §8.2.3).
      if (Array.isArray(value)) for (const item of value) out += `${name}: ${item}\r\n`;
      else out += `${name}: ${value}\r\n`;
    }
    out += `x-forwarded-for: ${this.#forwardedFor()}\r\n`;
    if (this.authority) out += `x-forwarded-host: ${this.authority}\r\n`;
    out += `x-forwarded-proto: ${this.#encrypted ? 'https' : 'http'}\r\n\r\n`;
    this.#http1 = Buffer.from(out, 'latin1');
    return this.#http1;
  }

  /** The head as an h2c replica is sent it. */
  http2Headers(): OutgoingHttpHeaders {
    if (this.#http2) return this.#http2;
    const out: OutgoingHttpHeaders = {
      ':method': this.method,
      ':path': this.target,
      ':authority': this.authority,
      ':scheme': 'http',
    };
    for (const name in this.headers) {
      if (name[0] === ':' || DROPPED.has(name)) continue;
      out[name] = this.headers[name];
    }
    // gRPC asks for trailers with `te: trailers`, the one TE value HTTP/2 allows (RFC 9113 §8.2.2).
    if (this.grpc || this.headers.te === 'trailers') out.te = 'trailers';
    out['x-forwarded-for'] = this.#forwardedFor();
    if (this.authority) out['x-forwarded-host'] = this.authority;
    out['x-forwarded-proto'] = this.#encrypted ? 'https' : 'http';
    this.#http2 = out;
    return out;
  }
}
