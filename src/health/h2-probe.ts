import { H2Upstreams } from '../edge/h2-upstreams.js';

/**
 * Health checks for replicas that speak only HTTP/2 (gRPC servers): `GET <path>` over a cleartext
 * HTTP/2 session kept per replica; healthy means a 2xx within the timeout.
 */
export class H2Probe {
  /** Its own sessions, so that checks never wait behind client traffic's flow control. */
  readonly #sessions = new H2Upstreams();

  /** Resolves to null when healthy, or to the reason it is not. */
  check(origin: string, path: string, timeoutMs: number): Promise<string | null> {
    return new Promise((resolve) => {
      let stream;
      try {
        stream = this.#sessions
          .session(origin)
          .request({ ':path': path, ':method': 'GET' }, { endStream: true });
      } catch (error) {
        resolve((error as Error).message);
        return;
      }
      const timer = setTimeout(() => {
        stream.close();
        resolve(`no answer within ${timeoutMs} ms`);
      }, timeoutMs);
      stream.on('response', (headers) => {
        clearTimeout(timer);
        const status = Number(headers[':status']);
        stream.close();
        resolve(status >= 200 && status < 300 ? null : `status ${status}`);
      });
      stream.on('error', (error: Error & { code?: string }) => {
        clearTimeout(timer);
        resolve(error.code ?? error.message);
      });
    });
  }

  close(): void {
    this.#sessions.close();
  }
}
