import type { ClientHttp2Stream, IncomingHttpHeaders } from 'node:http2';
import { H2Upstreams } from '../edge/h2-upstreams.js';

/** `/package.Service/Method`: a health path of this form is checked as a gRPC call. */
const GRPC_METHOD = /^\/[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+\/[A-Za-z_]\w*$/;
/** An empty gRPC message: not compressed, zero bytes long (the HealthCheckRequest with no service). */
const EMPTY_MESSAGE = Buffer.alloc(5);

/**
 * Health checks for replicas that speak only HTTP/2 (gRPC servers), over a cleartext HTTP/2 session
 * kept per replica. A health path such as `/grpc.health.v1.Health/Check` is called the gRPC way
 * (POST, application/grpc): healthy when the server answers OK and does not report NOT_SERVING, or
 * answers UNIMPLEMENTED (a live gRPC server without the health service). Any other path is a `GET`,
 * healthy on a 2xx.
 */
export class H2Probe {
  /** Its own sessions, so that checks never wait behind client traffic's flow control. */
  readonly #sessions = new H2Upstreams();

  /** Resolves to null when healthy, or to the reason it is not. */
  check(origin: string, path: string, timeoutMs: number): Promise<string | null> {
    const grpc = GRPC_METHOD.test(path);
    return new Promise((resolve) => {
      let stream: ClientHttp2Stream;
      try {
        const session = this.#sessions.session(origin);
        stream = grpc
          ? session.request({
              ':path': path,
              ':method': 'POST',
              'content-type': 'application/grpc',
              te: 'trailers',
            })
          : session.request({ ':path': path, ':method': 'GET' }, { endStream: true });
        if (grpc) stream.end(EMPTY_MESSAGE);
      } catch (error) {
        resolve((error as Error).message);
        return;
      }
      const timer = setTimeout(() => {
        stream.close();
        resolve(`no answer within ${timeoutMs} ms`);
      }, timeoutMs);
      const done = (reason: string | null) => {
        clearTimeout(timer);
        stream.close();
        resolve(reason);
      };
      stream.on('error', (error: Error & { code?: string }) => done(error.code ?? error.message));
      if (!grpc) {
        stream.on('response', (headers) => {
          const status = Number(headers[':status']);
          done(status >= 200 && status < 300 ? null : `status ${status}`);
        });
        return;
      }
      const body: Buffer[] = [];
      let head: IncomingHttpHeaders = {};
      stream.on('response', (headers) => {
        head = headers;
        if (Number(headers[':status']) !== 200) done(`status ${headers[':status']}`);
      });
      stream.on('data', (chunk: Buffer) => body.push(chunk));
      stream.on('trailers', (trailers) => (head = { ...head, ...trailers }));
      stream.on('end', () => done(grpcHealth(head['grpc-status'], Buffer.concat(body))));
      stream.resume();
    });
  }

  close(): void {
    this.#sessions.close();
  }
}

/** The verdict on a gRPC health answer: status and the HealthCheckResponse's `status` field. */
export function grpcHealth(status: string | string[] | undefined, body: Buffer): string | null {
  const code = Number(Array.isArray(status) ? status[0] : status);
  if (code === 12) return null;
  if (code !== 0) return `grpc-status ${status ?? 'missing'}`;
  // HealthCheckResponse { status = 1 }: field 1, varint; 2 is NOT_SERVING (3 SERVICE_UNKNOWN).
  const payload = body.subarray(5);
  for (let i = 0; i + 1 < payload.length; i++) {
    if (payload[i] === 0x08 && payload[i + 1] !== 0x01) return `serving status ${payload[i + 1]}`;
  }
  return null;
}
