import {
  connect,
  createServer,
  type ClientHttp2Session,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { balancer, call } from './helpers.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A gRPC message on the wire: uncompressed flag, 4-byte length, payload. */
function message(text: string): Buffer {
  const payload = Buffer.from(text);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

function messages(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let at = 0; at + 5 <= bytes.length;) {
    const length = bytes.readUInt32BE(at + 1);
    out.push(bytes.toString('utf8', at + 5, at + 5 + length));
    at += 5 + length;
  }
  return out;
}

/**
 * A gRPC-shaped service over cleartext HTTP/2 only, as gRPC servers are: GET answers with its name
 * (health checks, and comparing with plain requests), Unary echoes with its name, ServerStream sends three messages,
 * Missing answers trailers-only with status 5 (NOT_FOUND).
 */
async function grpcReplica(name: string): Promise<string> {
  const server: Http2Server = createServer();
  server.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method === 'GET') {
        res.end(name);
        return;
      }
      const [input = ''] = messages(Buffer.concat(chunks));
      if (req.url === '/test.Echo/Missing') {
        res.stream.respond(
          {
            ':status': 200,
            'content-type': 'application/grpc',
            'grpc-status': '5',
            'grpc-message': 'no such thing',
          },
          { endStream: true },
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'application/grpc' });
      if (req.url === '/test.Echo/Slow') {
        // Three messages 300 ms apart: a stream quieter than the balancer's idle timeout.
        let sent = 0;
        const timer = setInterval(() => {
          res.write(message(`${name}:${input}:${sent++}`));
          if (sent < 3) return;
          clearInterval(timer);
          res.addTrailers({ 'grpc-status': '0', 'grpc-message': '' });
          res.end();
        }, 300);
        return;
      }
      if (req.url === '/test.Echo/ServerStream') {
        for (let i = 0; i < 3; i++) res.write(message(`${name}:${input}:${i}`));
      } else {
        res.write(message(`${name}:${input}`));
      }
      res.addTrailers({ 'grpc-status': '0', 'grpc-message': '' });
      res.end();
    });
  });
  const sessions = new Set<import('node:http2').ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    for (const session of sessions) session.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface CallResult {
  headers: Record<string, unknown>;
  messages: string[];
  trailers: Record<string, unknown>;
}

function grpcCall(
  client: ClientHttp2Session,
  method: string,
  input: string,
  key: string,
): Promise<CallResult> {
  return new Promise((resolve, reject) => {
    const stream = client.request({
      ':method': 'POST',
      ':path': `/test.Echo/${method}`,
      'content-type': 'application/grpc',
      te: 'trailers',
      'x-request-id': key,
    });
    let headers: Record<string, unknown> = {};
    let trailers: Record<string, unknown> = {};
    const chunks: Buffer[] = [];
    stream.on('response', (head) => (headers = head));
    stream.on('trailers', (tail) => (trailers = tail));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve({ headers, messages: messages(Buffer.concat(chunks)), trailers }));
    stream.on('error', reject);
    stream.end(message(input));
  });
}

async function setup(backends: string[], overrides: Parameters<typeof balancer>[0] = {}) {
  const lb = await balancer({ provider: 'static', backends, h2c: true, ...overrides });
  cleanups.push(() => lb.close());
  const client = connect(`http://127.0.0.1:${lb.port}`);
  client.on('error', () => undefined);
  cleanups.push(() => client.destroy());
  return { lb, client };
}

describe('gRPC through the balancer', () => {
  it('carries a unary call to an h2c:// replica with its trailers, on the key’s replica', async () => {
    const addresses = [await grpcReplica('A'), await grpcReplica('B'), await grpcReplica('C')];
    const { lb, client } = await setup(addresses.map((a) => `h2c://${a}`));
    const owners = new Set<string>();
    for (const key of ['1', '22', '333', '4444', '55555', '666666']) {
      const result = await grpcCall(client, 'Unary', `hi ${key}`, key);
      expect(result.headers[':status']).toBe(200);
      expect(result.headers['content-type']).toBe('application/grpc');
      expect(result.trailers['grpc-status']).toBe('0');
      expect(result.messages).toHaveLength(1);
      const [owner, text] = result.messages[0]!.split(':');
      expect(text).toBe(`hi ${key}`);
      // The same key over plain HTTP/1.1 reaches the same replica.
      expect((await call(`${lb.url}/who`, { headers: { 'x-request-id': key } })).body).toBe(owner);
      owners.add(owner!);
    }
    expect(owners.size).toBeGreaterThan(1);
  });

  it('carries a server-streaming call with --upstream-protocol h2c', async () => {
    const { client } = await setup([`http://${await grpcReplica('A')}`], { upstreamProtocol: 'h2c' });
    const result = await grpcCall(client, 'ServerStream', 'go', '7');
    expect(result.messages).toEqual(['A:go:0', 'A:go:1', 'A:go:2']);
    expect(result.trailers['grpc-status']).toBe('0');
  });

  it('does not cut a streaming call that is quieter than the idle timeout', async () => {
    const { client } = await setup([`h2c://${await grpcReplica('A')}`], { keepAliveTimeoutMs: 200 });
    const result = await grpcCall(client, 'Slow', 'go', '7');
    expect(result.messages).toEqual(['A:go:0', 'A:go:1', 'A:go:2']);
    expect(result.trailers['grpc-status']).toBe('0');
  });

  it('keeps the status of a trailers-only error', async () => {
    const { client } = await setup([`h2c://${await grpcReplica('A')}`]);
    const result = await grpcCall(client, 'Missing', 'x', '7');
    expect(result.headers[':status']).toBe(200);
    expect({ ...result.headers, ...result.trailers }).toMatchObject({
      'grpc-status': '5',
      'grpc-message': 'no such thing',
    });
    expect(result.messages).toEqual([]);
  });

  it('answers UNAVAILABLE (14) in gRPC terms when no replica is there', async () => {
    const { client } = await setup([`h2c://${await grpcReplica('A')}`], { replicas: 0 });
    const result = await grpcCall(client, 'Unary', 'x', '7');
    expect(result.headers[':status']).toBe(200);
    expect(result.trailers['grpc-status']).toBe('14');
  });
});
