import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Pool } from 'undici';
import { sendFailure } from '../core/json-response.js';
import { RinglbError, seedMessage } from '../core/errors.js';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './headers.js';

/** Passes a request, bodies streamed both ways, to one fixed server (a worker's primary). */
export async function relay(req: IncomingMessage, res: ServerResponse, pool: Pool): Promise<void> {
  const aborted = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) aborted.abort();
  });
  const hasBody =
    req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  // A request from the HTTP/2 front carries pseudo-headers (:path, :authority...), which are no
  // HTTP/1.1 field names: undici refuses them. Its :authority is the Host.
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) if (name[0] !== ':') headers[name] = value;
  const authority = req.headers[':authority'];
  if (headers.host === undefined && typeof authority === 'string') headers.host = authority;
  let response;
  try {
    response = await pool.request({
      path: req.url ?? '/',
      method: (req.method ?? 'GET') as 'GET',
      headers: upstreamRequestHeaders(headers, req.socket.remoteAddress),
      body: hasBody ? req : null,
      signal: aborted.signal,
    });
  } catch (error) {
    if (aborted.signal.aborted) return;
    const reason = (error as { code?: string }).code ?? (error as Error).message;
    sendFailure(
      res,
      new RinglbError('ERR_UPSTREAM', seedMessage(`the control process did not answer: ${reason}`), 502),
    );
    return;
  }
  res.writeHead(response.statusCode, downstreamResponseHeaders(response.headers));
  try {
    await pipeline(response.body, res);
  } catch {
    // Either side went away; pipeline has closed both.
  }
}
