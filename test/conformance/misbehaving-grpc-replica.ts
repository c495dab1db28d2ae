import {
  createServer,
  type Http2Server,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Misbehaviour } from './misbehaving-replica.js';
import { ReplicaListener } from './replica-listener.js';

/**
 * A real gRPC replica (cleartext HTTP/2, as gRPC servers are reached) that misbehaves on request,
 * the gRPC twin of MisbehavingReplica for the conformance suite: the same misbehaviours, in gRPC's
 * terms. A reset is RST_STREAM INTERNAL_ERROR; "answers-5xx" is gRPC's UNAVAILABLE (14, Trailers-Only);
 * a silent replica keeps its calls until `answerHeld()`. GETs (its heartbeat) are always answered.
 */
export class MisbehavingGrpcReplica {
  readonly #server: Http2Server;
  readonly #sessions = new Set<Http2Session>();
  readonly #held: ServerHttp2Stream[] = [];
  readonly #listener: ReplicaListener;
  /** Calls (not heartbeats) whose headers arrived. */
  calls = 0;
  /** 'answers-5xx' answers Trailers-Only (the status in the head), else with headers, then trailers. */
  trailersOnly = true;

  constructor(readonly name: string) {
    this.#server = createServer();
    this.#server.on('session', (session: Http2Session) => {
      this.#sessions.add(session);
      session.on('error', () => undefined);
      session.once('close', () => this.#sessions.delete(session));
    });
    this.#server.on('stream', (stream, headers) => this.#handle(stream, headers));
    this.#listener = new ReplicaListener(this.#server, () => {
      for (const session of this.#sessions) session.destroy();
    });
  }

  get url(): string {
    return `h2c://127.0.0.1:${this.#listener.port}`;
  }

  listen(): Promise<void> {
    return this.#listener.listen();
  }

  set(mode: Misbehaviour): Promise<void> {
    return this.#listener.set(mode);
  }

  /** Calls held by 'stays-silent' so far. */
  get held(): number {
    return this.#held.length;
  }

  /** Answers the calls a silent replica held (if their streams are still open). */
  answerHeld(): void {
    for (const stream of this.#held.splice(0)) if (!stream.closed) this.#answer(stream, Buffer.alloc(0));
  }

  #handle(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.on('error', () => undefined);
    if (headers[':method'] === 'GET') {
      stream.respond({ ':status': 200 });
      stream.end('ok');
      return;
    }
    this.calls++;
    const mode = this.#listener.mode;
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    // Read the whole request before misbehaving, as a real handler would.
    stream.once('end', () => {
      switch (mode) {
        case 'answers':
          this.#answer(stream, Buffer.concat(chunks));
          return;
        case 'resets-before-response':
          reset(stream);
          return;
        case 'resets-mid-response':
          stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
          // Half of a 100-byte message, then the reset.
          stream.write(Buffer.concat([frameHead(100), Buffer.alloc(50, 0x78)]), () =>
            setTimeout(() => reset(stream), 20),
          );
          return;
        case 'stays-silent':
          this.#held.push(stream);
          return;
        case 'answers-5xx':
          if (!this.trailersOnly) {
            stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
            stream.once('wantTrailers', () =>
              stream.sendTrailers({ 'grpc-status': '14', 'grpc-message': 'unavailable' }),
            );
            stream.end();
            return;
          }
          stream.respond(
            {
              ':status': 200,
              'content-type': 'application/grpc',
              'grpc-status': '14',
              'grpc-message': 'unavailable',
            },
            { endStream: true },
          );
          return;
        case 'resets-every-other':
          if (this.calls % 2 === 0) reset(stream);
          else this.#answer(stream, Buffer.concat(chunks));
          return;
        case 'refuses':
          stream.session?.destroy();
      }
    });
  }

  /** A unary answer: the replica's name as the message, then grpc-status 0 in trailers. */
  #answer(stream: ServerHttp2Stream, _request: Buffer): void {
    const payload = Buffer.from(this.name);
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': '' }));
    stream.end(Buffer.concat([frameHead(payload.length), payload]));
  }

  close(): Promise<void> {
    return this.#listener.close();
  }
}

/**
 * RST_STREAM INTERNAL_ERROR at once. (`stream.close(code)` would not do: Node first ends the stream
 * cleanly, and a reset after END_STREAM is no reset to the client.)
 */
function reset(stream: ServerHttp2Stream): void {
  stream.destroy(new Error('reset by the misbehaving replica'));
}

/** A gRPC message's 5-byte prefix: not compressed, then the length. */
export function frameHead(length: number): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(length, 1);
  return head;
}
