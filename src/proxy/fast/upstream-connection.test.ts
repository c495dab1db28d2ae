import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResponseHead } from '../http1/response-head.js';
import type { Exchange, UpstreamError } from './exchange.js';
import { UpstreamConnection } from './upstream-connection.js';

/*
 * The connection keeps one idle timeout armed whatever it is doing (see #onTimeout): these check, on
 * real sockets, that the replica still gets exactly its response timeout and an idle connection
 * exactly its idle timeout.
 */

const IDLE_MS = 300;
const RESPONSE_MS = 1_000;

interface Outcome {
  readonly status?: number;
  readonly body: string;
  readonly error?: UpstreamError;
  readonly at: number;
}

function exchange(started: number, done: (outcome: Outcome) => void): Exchange {
  let status: number | undefined;
  let body = '';
  return {
    bytes: Buffer.from('GET /x HTTP/1.1\r\nhost: replica\r\n\r\n', 'latin1'),
    hasBody: false,
    isHead: false,
    pipelinable: true,
    abandoned: false,
    attach() {},
    onBodyCut() {},
    onResponseHead(head: ResponseHead) {
      status = head.status;
    },
    onResponseData(buf: Buffer, start: number, end: number) {
      body += buf.toString('latin1', start, end);
    },
    onResponseEnd() {
      done({ status, body, at: performance.now() - started });
    },
    onFailure(error: UpstreamError) {
      done({ status, body, error, at: performance.now() - started });
    },
  };
}

const servers: Server[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A replica on a free port; `serve` gets each connection's socket and its first request. */
async function replica(serve: (socket: Socket) => void): Promise<number> {
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.once('data', () => serve(socket));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

function connect(port: number, onClose: () => void): UpstreamConnection {
  return new UpstreamConnection(
    {
      host: '127.0.0.1',
      port,
      connectTimeoutMs: 1_000,
      responseTimeoutMs: RESPONSE_MS,
      idleTimeoutMs: IDLE_MS,
      maxHeadBytes: 16 * 1024,
    },
    () => {},
    onClose,
  );
}

describe('UpstreamConnection timeouts', () => {
  it('closes a connection idle for its idle timeout, and not before', async () => {
    const port = await replica((socket) => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'));
    const started = performance.now();
    let answeredAt = -1;
    const closedAt = await new Promise<number>((resolve) => {
      const connection = connect(port, () => resolve(performance.now() - started));
      connection.send(exchange(started, (outcome) => (answeredAt = outcome.at)));
    });
    expect(answeredAt).toBeGreaterThan(0);
    expect(closedAt - answeredAt).toBeGreaterThanOrEqual(IDLE_MS - 20);
    expect(closedAt - answeredAt).toBeLessThan(IDLE_MS + 400);
  });

  it('fails a request after the response timeout of silence, longer than the idle timeout', async () => {
    const port = await replica(() => {});
    const started = performance.now();
    const outcome = await new Promise<Outcome>((resolve) =>
      connect(port, () => {}).send(exchange(started, resolve)),
    );
    expect(outcome.error?.kind).toBe('timeout');
    expect(outcome.at).toBeGreaterThanOrEqual(RESPONSE_MS - 20);
    expect(outcome.at).toBeLessThan(RESPONSE_MS + 500);
  });

  it('lets a response that keeps moving take longer than the response timeout', async () => {
    const parts = ['HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\n', 'a', 'b', 'c', 'd'];
    const port = await replica((socket) => {
      const next = () => {
        const part = parts.shift();
        if (part === undefined) return;
        socket.write(part);
        setTimeout(next, 400);
      };
      next();
    });
    const started = performance.now();
    const outcome = await new Promise<Outcome>((resolve) =>
      connect(port, () => {}).send(exchange(started, resolve)),
    );
    expect(outcome.error).toBeUndefined();
    expect(outcome.status).toBe(200);
    expect(outcome.body).toBe('abcd');
    expect(outcome.at).toBeGreaterThan(RESPONSE_MS + 400);
  });
});
