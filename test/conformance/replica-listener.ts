import type { AddressInfo, Server } from 'node:net';
import type { Misbehaviour } from './misbehaving-replica.js';

/**
 * The listener of a misbehaving replica and the mode it is in: 'refuses' closes the listener and
 * drops every open connection (`dropConnections`), and leaving 'refuses' listens again on the same
 * port. Both conformance replicas (HTTP/1.1 and gRPC) switch through it, so they refuse alike.
 */
export class ReplicaListener {
  readonly #server: Server;
  readonly #dropConnections: () => void;
  #mode: Misbehaviour = 'answers';
  #port = 0;

  constructor(server: Server, dropConnections: () => void) {
    this.#server = server;
    this.#dropConnections = dropConnections;
  }

  get port(): number {
    return this.#port;
  }

  get mode(): Misbehaviour {
    return this.#mode;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(this.#port, '127.0.0.1', resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  async set(mode: Misbehaviour): Promise<void> {
    const was = this.#mode;
    this.#mode = mode;
    if (mode === 'refuses' && was !== 'refuses') await this.#stop();
    else if (mode !== 'refuses' && was === 'refuses') await this.listen();
  }

  async close(): Promise<void> {
    await this.#stop();
  }

  #stop(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.#server.listening) this.#server.close(() => resolve());
      else resolve();
      this.#dropConnections();
    });
  }
}
