import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { RinglbError, seedMessage } from '../core/errors.js';

/** Methods that only read: everything else changes state and needs the token when one is set. */
const READ_ONLY = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Checks `Authorization: Bearer TOKEN` on every state-changing call, comparing digests in constant
 * time so that the answer's timing says nothing about how much of a guess was right.
 */
export function adminGuard(token: string | undefined): (req: IncomingMessage) => void {
  if (token === undefined) return () => undefined;
  const expected = createHash('sha256').update(token).digest();
  return (req) => {
    if (READ_ONLY.has(req.method ?? 'GET')) return;
    const header = req.headers.authorization ?? '';
    const match = /^Bearer +(\S+) *$/i.exec(header);
    const given = createHash('sha256')
      .update(match?.[1] ?? '')
      .digest();
    if (!match || !timingSafeEqual(given, expected)) {
      throw new RinglbError(
        'ERR_UNAUTHORIZED',
        seedMessage(
          match ? 'the admin token is wrong' : 'this call needs "Authorization: Bearer <admin token>"',
        ),
        401,
      );
    }
  };
}
