import type { IncomingMessage } from 'node:http';
import { RinglbError, seedMessage } from '../core/errors.js';

/** Reads a control request's body as text, refusing more than `limit` bytes. */
export async function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      throw new RinglbError('ERR_BODY_TOO_LARGE', seedMessage(`the body is larger than ${limit} bytes`), 413);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
