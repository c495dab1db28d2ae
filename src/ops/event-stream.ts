import type { ServerResponse } from 'node:http';

/**
 * Server-Sent Events to any number of browsers. Each message is serialised once and written to every
 * client; a comment every 15 s keeps idle connections open through proxies.
 */
export class EventStream {
  readonly #clients = new Set<ServerResponse>();
  readonly #keepAlive: NodeJS.Timeout;

  constructor() {
    this.#keepAlive = setInterval(() => this.#write(': keep-alive\n\n'), 15_000);
    this.#keepAlive.unref();
  }

  get clients(): number {
    return this.#clients.size;
  }

  /** Answers `GET /events`: sends `initial` messages to this client, then keeps it for broadcasts. */
  open(res: ServerResponse, initial: readonly [event: string, data: unknown][]): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 1000\n\n');
    for (const [event, data] of initial) res.write(message(event, data));
    this.#clients.add(res);
    // Not req's 'close': that fires as soon as the (empty) request body has been read.
    res.once('close', () => this.#clients.delete(res));
  }

  send(event: string, data: unknown): void {
    if (this.#clients.size > 0) this.#write(message(event, data));
  }

  #write(text: string): void {
    for (const client of this.#clients) client.write(text);
  }

  close(): void {
    clearInterval(this.#keepAlive);
    for (const client of this.#clients) client.end();
    this.#clients.clear();
  }
}

function message(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
