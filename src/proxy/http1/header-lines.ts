import { HttpParseError } from './parse-error.js';
import { FIELD_CHAR, isToken, TCHAR, trimOws } from './syntax.js';

export interface HeaderLimits {
  readonly maxHeaders: number;
}

/**
 * Parses the header lines of a head (everything after the start line, lines separated by CRLF) into
 * a flat [name, value, name, value, ...] list. Refuses what two parsers could read two ways:
 * whitespace before the colon, obsolete line folding, control characters, bare CR.
 */
export function parseHeaderLines(head: string, from: number, limits: HeaderLimits, status: number): string[] {
  const fields: string[] = [];
  let at = from;
  while (at < head.length) {
    let end = head.indexOf('\r\n', at);
    if (end < 0) end = head.length;
    const first = head.charCodeAt(at);
    if (first === 0x20 || first === 0x09)
      throw new HttpParseError(status, 'obsolete line folding is not accepted');
    const colon = head.indexOf(':', at);
    if (colon < 0 || colon > end) throw new HttpParseError(status, 'a header line has no colon');
    const name = head.slice(at, colon);
    if (!isToken(name, TCHAR)) {
      throw new HttpParseError(status, `invalid header name ${JSON.stringify(name)}`);
    }
    const value = trimOws(head.slice(colon + 1, end));
    for (let i = 0; i < value.length; i++) {
      if (FIELD_CHAR[value.charCodeAt(i)] !== 1) {
        throw new HttpParseError(status, `invalid character in header ${name}`);
      }
    }
    fields.push(name, value);
    if (fields.length > limits.maxHeaders * 2) throw new HttpParseError(431, 'too many header fields');
    at = end + 2;
  }
  return fields;
}

/** True when the text holds a LF that is not part of CRLF, or a CR that is not followed by LF. */
export function hasBareLineBreak(text: string): boolean {
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) {
    if (i === 0 || text.charCodeAt(i - 1) !== 0x0d) return true;
  }
  for (let i = text.indexOf('\r'); i >= 0; i = text.indexOf('\r', i + 1)) {
    if (text.charCodeAt(i + 1) !== 0x0a) return true;
  }
  return false;
}

/**
 * Where the bytes of an unfinished head that can already be judged for bare line breaks end: a CR as
 * the very last byte may still get its LF in the next read, so it is left out; anything else (a
 * line's LF included) is judged now. TCP has no message boundaries, so this must not depend on where
 * a read happened to end.
 */
export function judgedEnd(buf: Buffer): number {
  return buf[buf.length - 1] === 0x0d ? buf.length - 1 : buf.length;
}

const NO_TOKENS: readonly string[] = Object.freeze([]);
const KEEP_ALIVE: readonly string[] = Object.freeze(['keep-alive']);
const CLOSE: readonly string[] = Object.freeze(['close']);

/**
 * The lower-case tokens of a Connection header's value(s), joined with commas. Most heads have none,
 * or just `keep-alive` or `close`: those get shared lists, so a head allocates none.
 */
export function connectionTokensOf(connection: string): readonly string[] {
  if (connection === '') return NO_TOKENS;
  const lower = connection.toLowerCase();
  if (lower === 'keep-alive') return KEEP_ALIVE;
  if (lower === 'close') return CLOSE;
  return lower
    .split(',')
    .map((token) => token.trim())
    .filter(Boolean);
}
