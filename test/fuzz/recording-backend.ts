import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { readStrictly } from './request-stream.js';

export interface Received {
  readonly method: string;
  readonly target: string;
}

interface BackendConnection {
  bytes: Buffer;
  answered: number;
  /** The balancer has sent part of a request (head or body) and not the rest. */
  midRequest: boolean;
  open: boolean;
}

/** A backend that reads its connections with the strict parser and records what each client sent. */
export class RecordingBackend {
  readonly server: Server;
  readonly connections = new Set<BackendConnection>();
  readonly sockets = new Set<Socket>();
  /** What each case's client got through, by case index: -1 for 127.0.0.1, -2 for an address no case owns. */
  readonly byCase = new Map<number, Received[]>();
  /** Which case a client address belongs to right now. */
  readonly ownerOf = new Map<string, number>();
  readonly violations: string[] = [];
  peakOpen = 0;
  /** Connections that were left between two parts of a request at some point (what a leak looks like). */
  halfRequests = 0;

  constructor() {
    this.server = createServer((socket) => this.#accept(socket));
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get open(): number {
    return [...this.connections].filter((c) => c.open).length;
  }

  /** Open connections on which a request was started and never finished: nobody will finish it. */
  get stuck(): number {
    return [...this.connections].filter((c) => c.open && c.midRequest).length;
  }

  #accept(socket: Socket): void {
    const connection: BackendConnection = {
      bytes: Buffer.alloc(0),
      answered: 0,
      midRequest: false,
      open: true,
    };
    this.connections.add(connection);
    this.sockets.add(socket);
    this.peakOpen = Math.max(this.peakOpen, this.open);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      connection.open = false;
      this.sockets.delete(socket);
    });
    socket.on('data', (chunk: Buffer) => {
      connection.bytes = Buffer.concat([connection.bytes, chunk]);
      // The balancer adds X-Forwarded-* to a head: more fields than a client may send are fine here.
      const reading = readStrictly(connection.bytes, 64 * 1024, 256);
      if (reading.refused !== undefined) {
        this.violations.push(
          `the backend received bytes a strict parser refuses (${reading.refused}): ${JSON.stringify(connection.bytes.toString('latin1').slice(-400))}`,
        );
        socket.destroy();
        return;
      }
      for (let i = connection.answered; i < reading.complete; i++) {
        const head = reading.requests[i]!;
        const from = forwardedFor(head.fields);
        if (from !== undefined) {
          const owner = from === '127.0.0.1' ? -1 : (this.ownerOf.get(from) ?? -2);
          const list = this.byCase.get(owner) ?? [];
          list.push({ method: head.method, target: head.target });
          this.byCase.set(owner, list);
        }
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
      }
      connection.answered = Math.max(connection.answered, reading.complete);
      if (reading.incomplete && !connection.midRequest) this.halfRequests++;
      connection.midRequest = reading.incomplete;
    });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

function forwardedFor(fields: readonly string[]): string | undefined {
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i]!.toLowerCase() === 'x-forwarded-for') return fields[i + 1]!.split(',').at(-1)!.trim();
  }
  return undefined;
}
