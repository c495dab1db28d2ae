// The WebSocket echo load of `npm run bench:h2`: CONNECTIONS WebSockets to PORT, each sending one
// small message and waiting for its echo before the next (closed loop), for SECONDS after a warm-up.
// Prints one JSON line: round trips, their rate, and latency percentiles (ms).
// Usage: node h2-ws-load.js PORT CONNECTIONS SECONDS WARMUP_SECONDS
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { quantile } from './lib/stats.js';
import { FrameReader, textFrame } from './lib/ws-frames.js';

const [port, connections, seconds, warmup] = process.argv.slice(2).map(Number) as [
  number,
  number,
  number,
  number,
];
const MESSAGE = textFrame(Buffer.alloc(32, 0x61), true);

function open(index: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', noDelay: true });
    socket.once('error', reject);
    socket.once('connect', () =>
      socket.write(
        `GET /ws/${index % 12} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nupgrade: websocket\r\nconnection: Upgrade\r\n` +
          `sec-websocket-key: ${randomBytes(16).toString('base64')}\r\nsec-websocket-version: 13\r\n` +
          `x-request-id: ${index}\r\n\r\n`,
      ),
    );
    let head = Buffer.alloc(0);
    const onHead = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onHead);
      if (!head.toString('latin1', 0, 12).endsWith('101')) reject(new Error(head.toString('latin1', 0, end)));
      else resolve(socket);
    };
    socket.on('data', onHead);
  });
}

const sockets = await Promise.all(Array.from({ length: connections }, (_, i) => open(i)));
const measureFrom = performance.now() + warmup * 1000;
const until = measureFrom + seconds * 1000;
const micros: number[] = [];
let errors = 0;
await Promise.all(
  sockets.map(
    (socket) =>
      new Promise<void>((done) => {
        const reader = new FrameReader();
        let sent = 0;
        const send = () => {
          sent = performance.now();
          if (sent >= until) {
            socket.destroy();
            done();
            return;
          }
          socket.write(MESSAGE);
        };
        socket.on('data', (chunk: Buffer) => {
          for (const _ of reader.push(chunk)) {
            if (sent >= measureFrom) micros.push((performance.now() - sent) * 1000);
            send();
          }
        });
        socket.on('error', () => {
          errors++;
          done();
        });
        send();
      }),
  ),
);
console.log(
  JSON.stringify({
    roundTrips: micros.length,
    perSecond: micros.length / seconds,
    p50: quantile(micros, 0.5),
    p99: quantile(micros, 0.99),
    errors,
  }),
);
