import { connectionTokensOf, hasBareLineBreak, parseHeaderLines } from './header-lines.js';
import { HttpParseError } from './parse-error.js';
import { parseLength } from './syntax.js';

export interface ResponseHead {
  readonly status: number;
  readonly reason: string;
  readonly minor: number;
  readonly fields: readonly string[];
  /** -1 when absent. */
  readonly contentLength: number;
  readonly chunked: boolean;
  /** The replica will close the connection after this response. */
  readonly close: boolean;
  readonly connectionTokens: readonly string[];
}

const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: ([^\r\n]*))?$/;

/**
 * Parses a replica's response head. A replica is not trusted more than a client: a response whose
 * framing is ambiguous (two lengths, length with chunked, an unknown transfer coding) is refused,
 * and the client gets a 502 instead of bytes that a cache or a browser could read another way.
 */
export function parseResponseHead(head: string, maxHeaders = 256): ResponseHead {
  if (hasBareLineBreak(head)) throw new HttpParseError(502, 'replica response: line breaks must be CRLF');
  let lineEnd = head.indexOf('\r\n');
  if (lineEnd < 0) lineEnd = head.length;
  const match = STATUS_LINE.exec(head.slice(0, lineEnd));
  if (!match) throw new HttpParseError(502, 'replica response: malformed status line');
  const minor = Number(match[1]);
  const status = Number(match[2]);
  if (status < 100) throw new HttpParseError(502, 'replica response: invalid status code');
  const fields = parseHeaderLines(head, lineEnd + 2, { maxHeaders }, 502);
  let contentLength = -1;
  let lengthSeen = false;
  let transferEncoding: string | undefined;
  let connection = '';
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!.toLowerCase();
    const value = fields[i + 1]!;
    if (name === 'content-length') {
      if (lengthSeen) throw new HttpParseError(502, 'replica response: more than one Content-Length');
      lengthSeen = true;
      contentLength = parseLength(value);
      if (contentLength < 0) throw new HttpParseError(502, 'replica response: invalid Content-Length');
    } else if (name === 'transfer-encoding') {
      if (transferEncoding !== undefined) {
        throw new HttpParseError(502, 'replica response: more than one Transfer-Encoding');
      }
      transferEncoding = value.toLowerCase();
    } else if (name === 'connection') {
      connection = connection ? `${connection},${value}` : value;
    }
  }
  if (transferEncoding !== undefined) {
    if (transferEncoding !== 'chunked') {
      throw new HttpParseError(502, 'replica response: unsupported Transfer-Encoding');
    }
    if (lengthSeen) throw new HttpParseError(502, 'replica response: Content-Length with Transfer-Encoding');
  }
  const connectionTokens = connectionTokensOf(connection);
  const close = minor === 0 ? !connectionTokens.includes('keep-alive') : connectionTokens.includes('close');
  return {
    status,
    reason: match[3] ?? '',
    minor,
    fields,
    contentLength,
    chunked: transferEncoding !== undefined,
    close,
    connectionTokens,
  };
}
