import { RinglbError } from '../core/errors.js';
import { xxh32String } from '../core/xxhash32.js';
import { integerRequestId, randomRequestId } from './request-id.js';
import type { RequestView } from './request-view.js';

/**
 * What identifies a request on the ring (`--hash-key`): the seed's integer `x-request-id`, a header,
 * a cookie, the client address, the path, the path with its query (`uri`, nginx's `$request_uri`), or
 * a query parameter. String keys become their xxHash32;
 * when the key is absent the request gets a random id (it spreads, as in the seed) and the
 * extractor says so through `onFallback`.
 */
export type HashKeySpec =
  | { readonly kind: 'request-id' }
  | { readonly kind: 'ip' }
  | { readonly kind: 'path' }
  | { readonly kind: 'uri' }
  | { readonly kind: 'header' | 'cookie' | 'query'; readonly name: string };

export const HASH_KEY_FORMS = 'request-id, header:<name>, cookie:<name>, ip, path, uri or query:<param>';

/** RFC 9110 token characters: what a header or cookie name may be made of. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function invalid(message: string): RinglbError {
  return new RinglbError('ERR_INVALID_CONFIG', message);
}

/** Parses a `--hash-key` value; a bad one throws ERR_INVALID_CONFIG saying what is wrong. */
export function parseHashKey(text: string): HashKeySpec {
  const spec = text.trim();
  if (spec === 'request-id' || spec === 'ip' || spec === 'path' || spec === 'uri') return { kind: spec };
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  if (colon < 0 || (kind !== 'header' && kind !== 'cookie' && kind !== 'query')) {
    throw invalid(`unknown hash key ${JSON.stringify(text)}: use ${HASH_KEY_FORMS}`);
  }
  const name = spec.slice(colon + 1);
  const what = kind === 'query' ? 'query parameter' : `${kind} name`;
  if (name === '') throw invalid(`hash key ${JSON.stringify(text)} needs a ${what} after "${kind}:"`);
  if (kind === 'query' ? /[&=#?\s]/.test(name) : !TOKEN.test(name)) {
    throw invalid(`hash key ${JSON.stringify(text)}: ${JSON.stringify(name)} is not a valid ${what}`);
  }
  // Header names are case-insensitive; cookie names and query parameters are not.
  return { kind, name: kind === 'header' ? name.toLowerCase() : name };
}

export function formatHashKey(spec: HashKeySpec): string {
  return 'name' in spec ? `${spec.kind}:${spec.name}` : spec.kind;
}

/** The value of cookie `name` in a Cookie header, without surrounding quotes. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    const value = pair.slice(eq + 1).trim();
    return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
  }
  return undefined;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** The first value of query parameter `name` in a request target, decoded. */
export function queryValue(target: string, name: string): string | undefined {
  const hash = target.indexOf('#');
  const beforeFragment = hash < 0 ? target : target.slice(0, hash);
  const start = beforeFragment.indexOf('?');
  if (start < 0) return undefined;
  const query = beforeFragment.slice(start + 1);
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    if (decode(eq < 0 ? pair : pair.slice(0, eq)) === name) return eq < 0 ? '' : decode(pair.slice(eq + 1));
  }
  return undefined;
}

/** The path of a request target, without query or fragment. */
export function pathOf(target: string): string {
  const end = target.search(/[?#]/);
  return end < 0 ? target : target.slice(0, end);
}

const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i;

/**
 * The path and query of a request target as sent, undecoded, like nginx's `$request_uri`: an
 * absolute-form target (`http://host/a?b`) gives its origin form (`/a?b`, `/` when it has no path) so
 * that both forms of one request land alike; a fragment (which clients should not send) is dropped.
 */
export function uriOf(target: string): string {
  const hash = target.indexOf('#');
  let uri = hash < 0 ? target : target.slice(0, hash);
  if (uri.charCodeAt(0) !== 47 /* '/' */) {
    const scheme = ABSOLUTE_FORM.exec(uri);
    if (scheme) {
      uri = uri.slice(scheme[0].length);
      if (uri === '' || uri.charCodeAt(0) !== 47) uri = `/${uri}`;
    }
  }
  return uri;
}

/** The client address, with an IPv4-mapped IPv6 address written as IPv4 so both forms are one key. */
export function clientAddress(address: string | undefined): string | undefined {
  return address?.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export interface HashKeyOptions {
  /** Called when the key is absent and a random id is used instead (the lead wires a metric). */
  readonly onFallback?: () => void;
  readonly random?: () => number;
}

/** Turns a spec into the function the data path calls for each request. */
export function hashKeyExtractor(
  spec: HashKeySpec,
  options: HashKeyOptions = {},
): (view: RequestView) => number {
  const random = options.random ?? Math.random;
  const onFallback = options.onFallback ?? (() => {});
  const fallback = () => {
    onFallback();
    return randomRequestId(random);
  };
  const hashed = (value: string | undefined) =>
    value === undefined || value === '' ? fallback() : xxh32String(value);
  const read = keyTextReader(spec);
  if (spec.kind === 'request-id') return (view) => integerRequestId(read(view)) ?? fallback();
  return (view) => hashed(read(view));
}

/** The text of a request's hash key as `spec` reads it (before hashing), or undefined when absent. */
export function keyTextReader(spec: HashKeySpec): (view: RequestView) => string | undefined {
  switch (spec.kind) {
    case 'request-id':
      return (view) => view.header('x-request-id');
    case 'header':
      return (view) => view.header(spec.name);
    case 'cookie':
      return (view) => cookieValue(view.header('cookie'), spec.name);
    case 'query':
      return (view) => queryValue(view.target, spec.name);
    case 'ip':
      return (view) => clientAddress(view.remoteAddress);
    case 'path':
      return (view) => pathOf(view.target);
    case 'uri':
      return (view) => uriOf(view.target);
  }
}

/**
 * The ring key of a hash key written as text (a preview's `"keys"`), as the extractor would read it
 * from a request: a request id is its integer, every other key its xxHash32. Undefined when no request
 * could carry it (a request id that is not an integer, an empty key): such a request gets a random key.
 */
export function keyOfText(spec: HashKeySpec, text: string): number | undefined {
  if (spec.kind === 'request-id') return integerRequestId(text);
  const value = spec.kind === 'ip' ? clientAddress(text) : text;
  return value === undefined || value === '' ? undefined : xxh32String(value);
}
