import { connect, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readIntoOwnBuffers, readLikeNode, sharedReadBuffer } from './client-reads.js';

const servers: ReturnType<typeof createServer>[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/** An accepted socket of a fresh loopback server, and the client connected to it. */
async function accepted(): Promise<{ server: Socket; client: Socket }> {
  const listener = createServer();
  servers.push(listener);
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const port = (listener.address() as { port: number }).port;
  const server = new Promise<Socket>((resolve) => listener.once('connection', resolve));
  const client = connect(port, '127.0.0.1');
  return { server: await server, client };
}

describe('client reads into reused buffers', () => {
  it('makes an accepted socket read into the buffers it is given, as onread does', async () => {
    const { server, client } = await accepted();
    const own = Buffer.alloc(64 * 1024);
    let next = sharedReadBuffer();
    const reads: { into: Buffer; text: string }[] = [];
    // This Node still has the fields onread sets: without them the fast path reads 'data' events.
    expect(
      readIntoOwnBuffers(
        server,
        (bytes, buffer) => {
          reads.push({ into: buffer, text: buffer.toString('latin1', 0, bytes) });
          next = own;
          return true;
        },
        () => next,
      ),
    ).toBe(true);
    let data = 0;
    server.on('data', () => data++);
    client.write('first');
    await new Promise((resolve) => setTimeout(resolve, 50));
    client.write('second');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(reads.map((read) => read.text)).toEqual(['first', 'second']);
    expect(reads[0]!.into).toBe(sharedReadBuffer());
    expect(reads[1]!.into).toBe(own);
    expect(data).toBe(0);
    client.destroy();
    server.destroy();
  });

  it('stops reading while paused, and reads again on resume', async () => {
    const { server, client } = await accepted();
    const texts: string[] = [];
    readIntoOwnBuffers(
      server,
      (bytes, buffer) => {
        texts.push(buffer.toString('latin1', 0, bytes));
        return true;
      },
      sharedReadBuffer,
    );
    server.pause();
    client.write('held');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(texts).toEqual([]);
    server.resume();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(texts).toEqual(['held']);
    client.destroy();
    server.destroy();
  });

  it('passes reads on as data events of buffers of their own once handed on', async () => {
    const { server, client } = await accepted();
    let calls = 0;
    readIntoOwnBuffers(
      server,
      () => {
        calls++;
        return true;
      },
      sharedReadBuffer,
    );
    readLikeNode(server);
    const chunks: Buffer[] = [];
    server.on('data', (chunk: Buffer) => chunks.push(chunk));
    client.write('one');
    await new Promise((resolve) => setTimeout(resolve, 50));
    client.write('two');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(calls).toBe(0);
    expect(chunks.map((chunk) => chunk.toString())).toEqual(['one', 'two']);
    expect(chunks[0]!.buffer).not.toBe(sharedReadBuffer().buffer);
    client.destroy();
    server.destroy();
  });

  it('leaves a socket with bytes already buffered alone', async () => {
    const { server, client } = await accepted();
    server.unshift(Buffer.from('seen'));
    expect(readIntoOwnBuffers(server, () => true, sharedReadBuffer)).toBe(false);
    client.destroy();
    server.destroy();
  });
});
