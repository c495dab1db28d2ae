import { connect, type OutgoingHttpHeaders } from 'node:http2';

export interface H2Reply {
  /** 0 when the request failed; `body` then holds the error's code or message. */
  status: number;
  body: string;
}

/**
 * One request over HTTP/2 with TLS on a session of its own, as a client that gives up after
 * `timeoutMs`. A failure is a reply with status 0, so a test states what it expected of it.
 * `stall`: the body is sent but the stream is never ended, as by a client that stops sending.
 */
export function h2Call(
  port: number,
  ca: string,
  headers: OutgoingHttpHeaders,
  body?: string | Buffer,
  timeoutMs = 5000,
  stall = false,
): Promise<H2Reply> {
  return new Promise((resolve) => {
    const session = connect(`https://localhost:${port}`, { ca, servername: 'localhost' });
    const failed = (error: Error & { code?: string }) => {
      session.destroy();
      resolve({ status: 0, body: error.code ?? error.message });
    };
    session.on('error', failed);
    const stream = session.request(headers);
    let status = 0;
    let text = '';
    stream.on('response', (head) => (status = Number(head[':status'])));
    stream.on('data', (chunk) => (text += chunk));
    stream.on('end', () => {
      session.close();
      resolve({ status, body: text });
    });
    stream.on('error', failed);
    stream.setTimeout(timeoutMs, () => failed(new Error(`no answer in ${timeoutMs / 1000} s`)));
    if (stall) stream.write(body ?? '');
    else stream.end(body);
  });
}
