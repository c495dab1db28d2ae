import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { readStrictly } from './fuzz/request-stream.js';

/** What an echo replica saw of one request. */
export interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly bytes: number;
  readonly sha256: string;
}

/**
 * A node:http replica that reads every body and answers with its length and SHA-256. Paths:
 * `/reset` resets the connection once the body is read; `/sink?pause=MS` stops reading the body for
 * MS first (a slow replica); anything else echoes.
 */
export class EchoReplica {
  readonly server: Server;
  readonly seen: Seen[] = [];
  /** Requests whose client (the balancer) went away before their body ended. */
  cut = 0;
  /** Heads that arrived (counted before their body). */
  heads = 0;
  /** Body bytes read so far, over all requests. */
  bytesRead = 0;
  url = '';
  readonly #name: string;
  readonly #resets: boolean;

  /** `resets`: whether `/reset` paths reset (true) or echo like any other. */
  constructor(name: string, resets = true) {
    this.#name = name;
    this.#resets = resets;
    this.server = createServer((req, res) => this.#handle(req, res));
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.url === '/health') {
      res.end();
      return;
    }
    this.heads++;
    const hash = createHash('sha256');
    let bytes = 0;
    let ended = false;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      this.bytesRead += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => {
      ended = true;
      const sha256 = hash.digest('hex');
      this.seen.push({ method: req.method!, url: req.url!, headers: req.headers, bytes, sha256 });
      if (this.#resets && req.url!.startsWith('/reset')) {
        req.socket.destroy();
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ name: this.#name, method: req.method, bytes, sha256 }));
    });
    req.on('close', () => {
      if (!ended) this.cut++;
    });
    const pause = /[?&]pause=(\d+)/.exec(req.url!);
    if (pause) {
      req.pause();
      setTimeout(() => req.resume(), Number(pause[1]));
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** One request's arrival at a raw replica: its method and how many were unanswered on its connection. */
export interface Arrival {
  readonly method: string;
  readonly outstanding: number;
  /** Whether a request with a body was among the unanswered ones. */
  readonly behindBody: boolean;
}

/**
 * A replica on raw sockets that answers each request 20 ms after it is complete, in order, and
 * records what was outstanding on its connection when each request head arrived: that shows
 * whether the balancer pipelined a request behind another.
 */
export class PipelineWatcher {
  readonly server = createNetServer((socket) => this.#accept(socket));
  readonly arrivals: Arrival[] = [];
  readonly #sockets = new Set<Socket>();

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  #accept(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined);
    let bytes = Buffer.alloc(0);
    let heads = 0;
    let answered = 0;
    let scheduled = 0;
    const withBody: boolean[] = [];
    socket.on('data', (chunk: Buffer) => {
      bytes = Buffer.concat([bytes, chunk]);
      const reading = readStrictly(bytes, 64 * 1024, 256);
      for (; heads < reading.requests.length; heads++) {
        const head = reading.requests[heads]!;
        if (head.target === '/health') continue;
        this.arrivals.push({
          method: head.method,
          outstanding: heads - answered,
          behindBody: withBody.slice(answered, heads).some(Boolean),
        });
        withBody[heads] = head.chunked || head.contentLength > 0;
      }
      for (; scheduled < reading.complete; scheduled++) {
        setTimeout(() => {
          answered++;
          if (!socket.destroyed) socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
        }, 20);
      }
    });
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** A raw client connection that collects what the balancer answers. */
export class RawClient {
  readonly socket: Socket;
  text = '';
  closed = false;
  readonly #waiters = new Set<() => void>();

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => {
      this.text += chunk.toString('latin1');
      for (const wake of this.#waiters) wake();
    });
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => {
      this.closed = true;
      for (const wake of this.#waiters) wake();
    });
  }

  /** Resolves once `test` holds for what was received (or rejects after `timeoutMs`). */
  until(test: (text: string, closed: boolean) => boolean, timeoutMs = 5_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!test(this.text, this.closed)) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(this.text);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out; received so far: ${JSON.stringify(this.text.slice(0, 500))}`));
      }, timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }

  /** Responses whose status line has arrived. */
  statuses(): number[] {
    return [...this.text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1]));
  }

  close(): void {
    this.socket.destroy();
  }
}
