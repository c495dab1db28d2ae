import type { ServerResponse } from 'node:http';
import { RinglbError, seedMessage } from './errors.js';

/** Writes a JSON reply; `extra` headers (e.g. `allow`) go beside the content type. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  extra: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...extra,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** The seed's failure body: `{"message": "<Error> ...", "status": "failure"}`. */
export function sendFailure(res: ServerResponse, error: unknown, extra: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const known = error instanceof RinglbError;
  const status = known ? error.status : 500;
  const message = known
    ? error.message
    : seedMessage(`internal error: ${(error as Error)?.message ?? error}`);
  sendJson(res, status, { message, status: 'failure' }, extra);
}
