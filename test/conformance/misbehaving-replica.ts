import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ReplicaListener } from './replica-listener.js';

/** What the replica does with the next requests (its heartbeat is always answered). */
export type Misbehaviour =
  | 'answers'
  | 'refuses'
  | 'resets-before-response'
  | 'resets-mid-response'
  | 'stays-silent'
  | 'answers-5xx'
  /** Resets every other request before answering: the flaky replica of passive health. */
  | 'resets-every-other';

/**
 * A real HTTP/1.1 replica that misbehaves on request, for the data path's conformance suite. It
 * always answers its heartbeat, so it stays in the ring while it fails requests; "refuses" closes
 * its listener and every connection until it is told to answer again.
 */
export class MisbehavingReplica {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #listener: ReplicaListener;
  /** Requests (not heartbeats) whose head arrived. */
  requests = 0;

  constructor(readonly name: string) {
    this.#server = createServer((req, res) => this.#handle(req, res));
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    this.#listener = new ReplicaListener(this.#server, () => {
      for (const socket of this.#sockets) socket.destroy();
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.#listener.port}`;
  }

  listen(): Promise<void> {
    return this.#listener.listen();
  }

  set(mode: Misbehaviour): Promise<void> {
    return this.#listener.set(mode);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.url === '/health') {
      res.end('ok');
      return;
    }
    this.requests++;
    const mode = this.#listener.mode;
    // Read the whole body before misbehaving, as a real handler would.
    req.resume();
    req.once('end', () => {
      switch (mode) {
        case 'answers':
          res.end(`${this.name} ${req.method} ${req.url}`);
          return;
        case 'resets-before-response':
          req.socket.resetAndDestroy();
          return;
        case 'resets-mid-response':
          res.writeHead(200, { 'content-length': '1000' });
          res.write('x'.repeat(100), () => setTimeout(() => req.socket.resetAndDestroy(), 20));
          return;
        case 'stays-silent':
          return;
        case 'answers-5xx':
          res.writeHead(503, { 'content-type': 'text/plain' });
          res.end('unavailable');
          return;
        case 'resets-every-other':
          if (this.requests % 2 === 0) req.socket.resetAndDestroy();
          else res.end(`${this.name} ${req.method} ${req.url}`);
          return;
        case 'refuses':
          req.socket.destroy();
      }
    });
  }

  close(): Promise<void> {
    return this.#listener.close();
  }
}
