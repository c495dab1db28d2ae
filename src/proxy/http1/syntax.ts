/** RFC 9110/9112 character classes, as lookup tables indexed by char code. */

/** tchar: the characters of a token (method, header name). */
export const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/** field-vchar, SP and HTAB: what a header value may hold (obs-text included, CTLs not). */
export const FIELD_CHAR = new Uint8Array(256);
FIELD_CHAR[0x09] = 1;
for (let c = 0x20; c <= 0x7e; c++) FIELD_CHAR[c] = 1;
for (let c = 0x80; c <= 0xff; c++) FIELD_CHAR[c] = 1;

/** What a request target may hold: visible ASCII and obs-text, no whitespace or CTLs. */
export const TARGET_CHAR = new Uint8Array(256);
for (let c = 0x21; c <= 0x7e; c++) TARGET_CHAR[c] = 1;
for (let c = 0x80; c <= 0xff; c++) TARGET_CHAR[c] = 1;

export function isToken(text: string, table: Uint8Array = TCHAR): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) if (table[text.charCodeAt(i)] !== 1) return false;
  return true;
}

/** Strips optional whitespace (SP, HTAB) around a header value. */
export function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && (value.charCodeAt(start) === 0x20 || value.charCodeAt(start) === 0x09)) start++;
  while (end > start && (value.charCodeAt(end - 1) === 0x20 || value.charCodeAt(end - 1) === 0x09)) end--;
  return value.slice(start, end);
}

const DIGITS = /^\d{1,15}$/;

/** A Content-Length value: digits only, nothing else (no sign, list or whitespace inside). */
export function parseLength(value: string): number {
  return DIGITS.test(value) ? Number(value) : -1;
}
