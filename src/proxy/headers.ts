import type { IncomingHttpHeaders } from 'node:http';

/** ringlb's hand-off hints (`key-hints.ts`): only ringlb sets them, so a client's copies never pass. */
export const RINGLB_ONLY_FIELDS: readonly string[] = ['x-ringlb-previous-owner', 'x-ringlb-owners'];

/**
 * Headers never forwarded as received: those that describe one hop (RFC 9110 §7.6.1), and ringlb's
 * own hints, which a client (or a replica) must not be able to pass off as ringlb's.
 */
export const HOP_BY_HOP_FIELDS: readonly string[] = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'upgrade',
  ...RINGLB_ONLY_FIELDS,
];

/** On the undici path the framing and expectations are undici's own, so those go too. */
const HOP_BY_HOP = new Set([...HOP_BY_HOP_FIELDS, 'transfer-encoding', 'expect']);

function connectionTokens(value: string | string[] | undefined): Set<string> {
  const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
  return new Set(
    joined
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter(Boolean),
  );
}

/** What the replica sees: the client's end-to-end headers plus X-Forwarded-For/-Host/-Proto. */
export function upstreamRequestHeaders(
  headers: IncomingHttpHeaders,
  clientAddress: string | undefined,
  trustForwarded = true,
): Record<string, string | string[]> {
  const named = connectionTokens(headers.connection);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name)) continue;
    out[name] = value;
  }
  const forwardedFor = trustForwarded ? headers['x-forwarded-for'] : undefined;
  out['x-forwarded-for'] = forwardedFor ? `${forwardedFor}, ${clientAddress ?? ''}` : (clientAddress ?? '');
  if (headers.host !== undefined) out['x-forwarded-host'] = headers.host;
  out['x-forwarded-proto'] = 'http';
  return out;
}

/** What the client sees: the replica's headers without its hop-by-hop ones. */
export function downstreamResponseHeaders(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string | string[]> {
  const named = connectionTokens(headers.connection);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name)) continue;
    out[name] = value;
  }
  return out;
}
