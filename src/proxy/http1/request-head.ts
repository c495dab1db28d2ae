import { connectionTokensOf, hasBareLineBreak, parseHeaderLines } from './header-lines.js';
import { HttpParseError } from './parse-error.js';
import { isToken, parseLength, TARGET_CHAR } from './syntax.js';

export interface RequestHead {
  readonly method: string;
  readonly target: string;
  /** 1 for HTTP/1.1, 0 for HTTP/1.0. */
  readonly minor: number;
  /** [name, value, name, value, ...], names as sent. */
  readonly fields: string[];
  /** -1 when the request has no Content-Length. */
  readonly contentLength: number;
  readonly chunked: boolean;
  /** Whether the client wants the connection kept open after this exchange. */
  readonly keepAlive: boolean;
  /** Lower-case tokens of the Connection header, which name further hop-by-hop headers. */
  readonly connectionTokens: readonly string[];
  readonly upgrade: boolean;
  readonly expectContinue: boolean;
  /** origin-form (`/path?q`) or `*`; absolute-form and authority-form are not `originForm`. */
  readonly originForm: boolean;
}

export const DEFAULT_MAX_HEADERS = 128;

/**
 * Parses a request head (the bytes before CRLF CRLF, as latin1 text) strictly: a request that two
 * HTTP parsers could read two ways is refused, never guessed at. Refused: a bad request line, an
 * HTTP version other than 1.0/1.1, bare CR or LF, obsolete line folding, whitespace before a colon,
 * Content-Length with Transfer-Encoding, more than one Content-Length (even equal ones) or a list,
 * any Transfer-Encoding but a single `chunked` on HTTP/1.1, and an HTTP/1.1 request without exactly
 * one Host.
 */
export function parseRequestHead(head: string, maxHeaders = DEFAULT_MAX_HEADERS): RequestHead {
  if (hasBareLineBreak(head)) throw new HttpParseError(400, 'line breaks must be CRLF');
  let lineEnd = head.indexOf('\r\n');
  if (lineEnd < 0) lineEnd = head.length;
  const line = head.slice(0, lineEnd);
  const firstSpace = line.indexOf(' ');
  const lastSpace = line.lastIndexOf(' ');
  if (firstSpace <= 0 || lastSpace === firstSpace) throw new HttpParseError(400, 'malformed request line');
  const method = line.slice(0, firstSpace);
  const target = line.slice(firstSpace + 1, lastSpace);
  const version = line.slice(lastSpace + 1);
  if (!isToken(method)) throw new HttpParseError(400, 'invalid method');
  if (!isToken(target, TARGET_CHAR)) throw new HttpParseError(400, 'invalid request target');
  let minor: number;
  if (version === 'HTTP/1.1') minor = 1;
  else if (version === 'HTTP/1.0') minor = 0;
  else if (/^HTTP\/\d\.\d$/.test(version)) throw new HttpParseError(505, `${version} is not supported`);
  else throw new HttpParseError(400, 'malformed request line');

  const fields = parseHeaderLines(head, lineEnd + 2, { maxHeaders }, 400);
  let contentLength = -1;
  let lengthSeen = false;
  let transferEncoding: string | undefined;
  let hosts = 0;
  let connection = '';
  let upgrade = false;
  let expectContinue = false;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!.toLowerCase();
    const value = fields[i + 1]!;
    switch (name) {
      case 'content-length':
        if (lengthSeen) throw new HttpParseError(400, 'more than one Content-Length');
        lengthSeen = true;
        contentLength = parseLength(value);
        if (contentLength < 0) throw new HttpParseError(400, 'invalid Content-Length');
        break;
      case 'transfer-encoding':
        if (transferEncoding !== undefined) throw new HttpParseError(400, 'more than one Transfer-Encoding');
        transferEncoding = value.toLowerCase();
        break;
      case 'host':
        hosts++;
        break;
      case 'connection':
        connection = connection ? `${connection},${value}` : value;
        break;
      case 'upgrade':
        upgrade = true;
        break;
      case 'expect':
        if (value.toLowerCase() !== '100-continue') throw new HttpParseError(417, 'unsupported expectation');
        expectContinue = true;
        break;
    }
  }
  if (transferEncoding !== undefined) {
    if (minor === 0) throw new HttpParseError(400, 'Transfer-Encoding is not allowed in HTTP/1.0');
    if (transferEncoding !== 'chunked') {
      throw new HttpParseError(400, 'only "Transfer-Encoding: chunked" is accepted');
    }
    if (lengthSeen) throw new HttpParseError(400, 'Content-Length together with Transfer-Encoding');
  }
  if (minor === 1 && hosts !== 1) {
    throw new HttpParseError(400, hosts === 0 ? 'missing Host header' : 'more than one Host header');
  }
  const connectionTokens = connectionTokensOf(connection);
  const keepAlive =
    minor === 1 ? !connectionTokens.includes('close') : connectionTokens.includes('keep-alive');
  return {
    method,
    target,
    minor,
    fields,
    contentLength,
    chunked: transferEncoding !== undefined,
    keepAlive,
    connectionTokens,
    upgrade: upgrade && connectionTokens.includes('upgrade'),
    expectContinue,
    originForm: target.charCodeAt(0) === 0x2f || (target === '*' && method === 'OPTIONS'),
  };
}

/** The value of a header (names compared case-insensitively); repeated headers joined with ", ". */
export function headerValue(fields: readonly string[], lowerName: string): string | undefined {
  let found: string | undefined;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    if (name.length !== lowerName.length || name.toLowerCase() !== lowerName) continue;
    found = found === undefined ? fields[i + 1]! : `${found}, ${fields[i + 1]!}`;
  }
  return found;
}
