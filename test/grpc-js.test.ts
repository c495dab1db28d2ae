import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { balancer } from './helpers.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// Messages are JSON, so no .proto file or code generation is needed; the framing, HTTP/2 streams,
// metadata and trailers are grpc-js's own.
const json = {
  serialize: (value: unknown) => Buffer.from(JSON.stringify(value)),
  deserialize: (bytes: Buffer) => JSON.parse(bytes.toString()) as unknown,
};
const service: grpc.ServiceDefinition = {
  Echo: {
    path: '/test.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
  Count: {
    path: '/test.Echo/Count',
    requestStream: false,
    responseStream: true,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
};

/** A real grpc-js server that says which replica it is. */
async function grpcServer(name: string): Promise<string> {
  const server = new grpc.Server();
  server.addService(service, {
    Echo: (call: grpc.ServerUnaryCall<{ text: string }, unknown>, done: grpc.sendUnaryData<unknown>) =>
      done(null, { text: call.request.text, from: name }),
    Count: (call: grpc.ServerWritableStream<{ n: number }, unknown>) => {
      for (let i = 1; i <= call.request.n; i++) call.write({ i, from: name });
      call.end();
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  cleanups.push(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
  return `h2c://127.0.0.1:${port}`;
}

describe('gRPC through ringlb with @grpc/grpc-js on both sides', () => {
  it('carries unary and server-streaming calls, hashed on a metadata key', async () => {
    const backends = [await grpcServer('a'), await grpcServer('b'), await grpcServer('c')];
    const lb = await balancer({
      provider: 'static',
      backends,
      h2c: true,
      hashKey: 'header:tenant',
      healthPath: '/grpc.health.v1.Health/Check',
    });
    cleanups.push(() => lb.close());
    const Client = grpc.makeGenericClientConstructor(service, 'Echo');
    const client = new Client(`127.0.0.1:${lb.port}`, grpc.credentials.createInsecure()) as grpc.Client &
      Record<string, (...args: unknown[]) => unknown>;
    cleanups.push(() => client.close());

    const unary = (tenant: string) =>
      new Promise<{ text: string; from: string }>((resolve, reject) => {
        const metadata = new grpc.Metadata();
        metadata.set('tenant', tenant);
        client.Echo!({ text: `hi ${tenant}` }, metadata, (error: grpc.ServiceError | null, reply: unknown) =>
          error ? reject(error) : resolve(reply as { text: string; from: string }),
        );
      });

    // The same tenant always reaches the same server; different tenants spread.
    const owners = new Map<string, string>();
    for (let t = 0; t < 12; t++) {
      const first = await unary(`t${t}`);
      expect(first.text).toBe(`hi t${t}`);
      expect((await unary(`t${t}`)).from).toBe(first.from);
      owners.set(`t${t}`, first.from);
    }
    expect(new Set(owners.values()).size).toBeGreaterThan(1);

    const metadata = new grpc.Metadata();
    metadata.set('tenant', 't3');
    const stream = client.Count!({ n: 5 }, metadata) as grpc.ClientReadableStream<{
      i: number;
      from: string;
    }>;
    const received: { i: number; from: string }[] = [];
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (item: { i: number; from: string }) => received.push(item));
      stream.on('status', (status: grpc.StatusObject) =>
        status.code === grpc.status.OK ? resolve() : reject(status),
      );
      stream.on('error', reject);
    });
    expect(received.map((item) => item.i)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(received.map((item) => item.from))).toEqual(new Set([owners.get('t3')]));
  });
});
