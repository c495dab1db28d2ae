// The soak's clients, one function per kind of request, each bounded in time and each checking
// what came back (status, the whole body, its bytes): HTTP/1.1 on keep-alive and on fresh
// connections, HTTP/2, gRPC unary (grpc-js), and the misbehaving ones (abort mid-upload, abort
// mid-download, slow reader). A request function resolves when the answer was right and throws a
// RequestFailed (or the client library's error) otherwise.
import { createHash, randomBytes } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { connect as h2connect, constants, type ClientHttp2Session } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { Client, Pool } from 'undici';
import { blobMatches } from './soak-protocol.js';
import { RequestFailed, type Progress } from './soak-record.js';

export const TIMEOUT_MS = 10_000;
const SLOW_READER_TIMEOUT_MS = 30_000;
const UPLOAD = randomBytes(1024 * 1024);

/** A body size between 1 KiB and `max` bytes, uniform in log scale (many small, some large). */
export function bodySize(max = 1024 * 1024, min = 1024): number {
  return Math.round(min * (max / min) ** Math.random());
}

const requestId = () => String(1 + Math.floor(Math.random() * 999_999));

export interface Tls {
  /** PEM of every certificate the balancer may present (before and after the rotation). */
  readonly ca: string;
  readonly servername: string;
}

/** Reads a download, checking every byte against the pattern and the length against `size`. */
async function checkBlob(body: AsyncIterable<Buffer>, size: number): Promise<void> {
  let offset = 0;
  for await (const chunk of body) {
    if (!blobMatches(chunk, offset)) throw new RequestFailed('corrupted body', 'wrong-body');
    offset += chunk.length;
  }
  if (offset !== size) throw new RequestFailed(`body of ${offset} bytes, not ${size}`, 'wrong-body');
}

async function checkHome(body: AsyncIterable<Buffer>): Promise<void> {
  let text = '';
  for await (const chunk of body) text += chunk.toString();
  if (!text.includes('Hello from Server')) throw new RequestFailed('not a greeting', 'wrong-body');
}

async function checkEcho(body: AsyncIterable<Buffer>, sent: Buffer): Promise<void> {
  let text = '';
  for await (const chunk of body) text += chunk.toString();
  let reply: { bytes?: number; sha256?: string };
  try {
    reply = JSON.parse(text) as typeof reply;
  } catch {
    throw new RequestFailed('echo reply is not JSON', 'wrong-body');
  }
  if (reply.bytes !== sent.length)
    throw new RequestFailed(`replica read ${reply.bytes} of ${sent.length} bytes`, 'wrong-body');
  if (reply.sha256 !== createHash('sha256').update(sent).digest('hex'))
    throw new RequestFailed('replica read other bytes than were sent', 'wrong-body');
}

export type Target = { readonly kind: 'home' } | { readonly kind: 'blob'; readonly size: number };

/** HTTP/1.1 to one balancer: a keep-alive pool, fresh connections, and the misbehaving clients. */
export class Http1Clients {
  readonly #pool: Pool;

  constructor(
    readonly origin: string,
    readonly tls: Tls,
    connections: number,
  ) {
    this.#pool = new Pool(origin, { connections, connect: { ca: tls.ca, servername: tls.servername } });
  }

  #dispatcher(fresh: boolean): Pool | Client {
    return fresh
      ? new Client(this.origin, { connect: { ca: this.tls.ca, servername: this.tls.servername } })
      : this.#pool;
  }

  async get(target: Target, fresh: boolean, progress: Progress): Promise<void> {
    const dispatcher = this.#dispatcher(fresh);
    try {
      const response = await dispatcher.request({
        path: target.kind === 'home' ? '/home' : `/blob?size=${target.size}`,
        method: 'GET',
        headers: { 'x-request-id': requestId() },
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      if (response.statusCode !== 200)
        throw new RequestFailed(`HTTP ${response.statusCode}: ${(await response.body.text()).slice(0, 120)}`);
      progress.responded();
      if (target.kind === 'home') await checkHome(response.body);
      else await checkBlob(response.body, target.size);
    } finally {
      if (fresh) await dispatcher.close();
    }
  }

  async post(size: number, fresh: boolean, progress: Progress): Promise<void> {
    const dispatcher = this.#dispatcher(fresh);
    const body = UPLOAD.subarray(0, size);
    try {
      const response = await dispatcher.request({
        path: '/echo',
        method: 'POST',
        headers: { 'x-request-id': requestId(), 'content-type': 'application/octet-stream' },
        body,
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      if (response.statusCode !== 200)
        throw new RequestFailed(`HTTP ${response.statusCode}: ${(await response.body.text()).slice(0, 120)}`);
      progress.responded();
      await checkEcho(response.body, body);
    } finally {
      if (fresh) await dispatcher.close();
    }
  }

  /** A 1 MiB upload that the client gives up on after 256 KiB (closing the connection). */
  abortUpload(): Promise<void> {
    return new Promise((resolve) => {
      const req = this.#raw('POST', '/echo', { 'content-length': String(UPLOAD.length) });
      req.on('error', () => resolve());
      req.on('response', (res) => {
        res.resume();
        resolve();
      });
      req.write(UPLOAD.subarray(0, 256 * 1024), () => {
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 20);
      });
    });
  }

  /** A 1 MiB download that the client drops after its first 64 KiB. */
  abortDownload(): Promise<void> {
    return new Promise((resolve) => {
      const req = this.#raw('GET', `/blob?size=${1024 * 1024}`, {});
      req.on('error', () => resolve());
      req.on('response', (res) => {
        let got = 0;
        res.on('data', (chunk: Buffer) => {
          got += chunk.length;
          if (got >= 64 * 1024) {
            req.destroy();
            resolve();
          }
        });
        res.on('error', () => resolve());
        res.on('end', () => resolve());
      });
      req.end();
    });
  }

  /** A 1 MiB download read at about `bytesPerSecond`: it must arrive whole, only slowly. */
  slowRead(bytesPerSecond: number, progress: Progress): Promise<void> {
    const size = 1024 * 1024;
    return new Promise((resolve, reject) => {
      const req = this.#raw('GET', `/blob?size=${size}`, {});
      const timer = setTimeout(() => {
        req.destroy();
        reject(new RequestFailed('slow read not done in 30 s', 'mid-body'));
      }, SLOW_READER_TIMEOUT_MS);
      const done = (error?: Error) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      req.on('error', done);
      req.on('response', (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return done(new RequestFailed(`HTTP ${res.statusCode}`));
        }
        progress.responded();
        let offset = 0;
        res.on('data', (chunk: Buffer) => {
          if (!blobMatches(chunk, offset)) {
            req.destroy();
            return done(new RequestFailed('corrupted body', 'wrong-body'));
          }
          offset += chunk.length;
          res.pause();
          setTimeout(() => res.resume(), (chunk.length / bytesPerSecond) * 1000);
        });
        res.on('error', (error) => done(new RequestFailed(`cut: ${error.message}`, 'mid-body')));
        res.on('end', () =>
          done(
            offset === size
              ? undefined
              : new RequestFailed(`body of ${offset} bytes, not ${size}`, 'wrong-body'),
          ),
        );
      });
      req.end();
    });
  }

  #raw(method: string, path: string, headers: Record<string, string>) {
    const url = new URL(this.origin);
    return httpsRequest({
      host: url.hostname,
      port: url.port,
      method,
      path,
      headers: { 'x-request-id': requestId(), ...headers },
      ca: this.tls.ca,
      servername: this.tls.servername,
      agent: false,
    });
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

/** HTTP/2 over TLS to one balancer: a few sessions, replaced when one closes. */
export class Http2Clients {
  readonly #sessions: (ClientHttp2Session | undefined)[];
  #next = 0;
  #closed = false;

  constructor(
    readonly origin: string,
    readonly tls: Tls,
    sessions: number,
  ) {
    this.#sessions = new Array(sessions).fill(undefined);
  }

  #session(): ClientHttp2Session {
    const index = this.#next++ % this.#sessions.length;
    const existing = this.#sessions[index];
    if (existing && !existing.closed && !existing.destroyed) return existing;
    // Windows of a browser's size (Chrome: 6 MiB per stream, 15 MiB per connection), not Node's
    // 64 KiB: with 64 KiB shared by every stream of the session, 1 MiB downloads on a busy machine
    // ran into the client's 10 s timeout mid-body, which measured the harness's client, not ringlb.
    const session = h2connect(this.origin, {
      ca: this.tls.ca,
      servername: this.tls.servername,
      settings: { initialWindowSize: 6 * 1024 * 1024 },
    });
    session.once('connect', () => {
      try {
        session.setLocalWindowSize(15 * 1024 * 1024);
      } catch {
        // closed already
      }
    });
    session.on('error', () => undefined);
    const forget = () => {
      if (this.#sessions[index] === session) this.#sessions[index] = undefined;
    };
    session.on('close', forget);
    session.on('goaway', forget);
    this.#sessions[index] = session;
    return session;
  }

  request(
    method: 'GET' | 'POST',
    target: Target | { kind: 'echo'; size: number },
    progress: Progress,
  ): Promise<void> {
    if (this.#closed) return Promise.reject(new RequestFailed('client closed'));
    const path =
      target.kind === 'home' ? '/home' : target.kind === 'blob' ? `/blob?size=${target.size}` : '/echo';
    const body = target.kind === 'echo' ? UPLOAD.subarray(0, target.size) : undefined;
    return new Promise<void>((resolve, reject) => {
      const stream = this.#session().request(
        { ':method': method, ':path': path, 'x-request-id': requestId() },
        { endStream: body === undefined },
      );
      const chunks: Buffer[] = [];
      let offset = 0;
      let status = 0;
      let failed: RequestFailed | undefined;
      const timer = setTimeout(() => {
        failed ??= new RequestFailed('client timeout', status === 0 ? 'before-response' : 'mid-body');
        stream.close(constants.NGHTTP2_CANCEL);
      }, TIMEOUT_MS);
      stream.on('response', (headers) => {
        status = Number(headers[':status']);
        if (status !== 200) failed = new RequestFailed(`HTTP ${status}`);
        else progress.responded();
      });
      stream.on('data', (chunk: Buffer) => {
        if (target.kind === 'blob') {
          if (!blobMatches(chunk, offset)) failed ??= new RequestFailed('corrupted body', 'wrong-body');
          offset += chunk.length;
        } else chunks.push(chunk);
      });
      stream.on('error', (error) => {
        failed ??= new RequestFailed(reasonOfStream(error), status === 0 ? 'before-response' : 'mid-body');
      });
      stream.on('close', () => {
        clearTimeout(timer);
        if (!failed && stream.rstCode !== constants.NGHTTP2_NO_ERROR)
          failed = new RequestFailed(
            `stream reset (${stream.rstCode})`,
            status === 0 ? 'before-response' : 'mid-body',
          );
        if (!failed && status === 0) failed = new RequestFailed('stream closed without a response');
        if (failed) return reject(failed);
        const text = Buffer.concat(chunks).toString();
        if (target.kind === 'blob' && offset !== target.size)
          return reject(new RequestFailed(`body of ${offset} bytes, not ${target.size}`, 'wrong-body'));
        if (target.kind === 'home' && !text.includes('Hello from Server'))
          return reject(new RequestFailed('not a greeting', 'wrong-body'));
        if (target.kind === 'echo') {
          let reply: { bytes?: number; sha256?: string };
          try {
            reply = JSON.parse(text) as typeof reply;
          } catch {
            return reject(new RequestFailed('echo reply is not JSON', 'wrong-body'));
          }
          if (
            reply.bytes !== body!.length ||
            reply.sha256 !== createHash('sha256').update(body!).digest('hex')
          )
            return reject(new RequestFailed('replica read other bytes than were sent', 'wrong-body'));
        }
        resolve();
      });
      if (body !== undefined) stream.end(body);
    });
  }

  close(): void {
    this.#closed = true;
    for (const session of this.#sessions) session?.close();
  }
}

function reasonOfStream(error: Error): string {
  return (error as { code?: string }).code ?? error.message.slice(0, 80);
}

const raw = { serialize: (value: Buffer) => value, deserialize: (bytes: Buffer) => bytes };
const ECHO: grpc.ServiceDefinition = {
  Echo: {
    path: '/soak.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: raw.serialize,
    requestDeserialize: raw.deserialize,
    responseSerialize: raw.serialize,
    responseDeserialize: raw.deserialize,
  },
};

/** gRPC unary calls (grpc-js over TLS) whose reply must be the request message itself. */
type EchoClient = grpc.Client & { Echo?: (...args: unknown[]) => unknown };

export class GrpcClients {
  readonly #client: EchoClient;

  constructor(origin: string, tls: Tls) {
    const Echo = grpc.makeGenericClientConstructor(ECHO, 'Echo');
    this.#client = new Echo(new URL(origin).host, grpc.credentials.createSsl(Buffer.from(tls.ca)), {
      'grpc.ssl_target_name_override': tls.servername,
      'grpc.default_authority': tls.servername,
    }) as EchoClient;
  }

  unary(size: number): Promise<void> {
    const message = UPLOAD.subarray(0, size);
    return new Promise((resolve, reject) => {
      const metadata = new grpc.Metadata();
      metadata.set('x-request-id', requestId());
      this.#client.Echo!(
        message,
        metadata,
        { deadline: Date.now() + TIMEOUT_MS },
        (error: grpc.ServiceError | null, reply: Buffer) => {
          if (error)
            return reject(
              new RequestFailed(
                `gRPC ${grpc.status[error.code] ?? error.code}: ${error.details.slice(0, 60)}`,
              ),
            );
          if (!Buffer.isBuffer(reply) || !reply.equals(message))
            return reject(new RequestFailed('gRPC reply differs'));
          resolve();
        },
      );
    });
  }

  close(): void {
    this.#client.close();
  }
}
