import { closeCode, openWebSocket, type WebSocketClient } from '../test/websocket-peer.js';
import { sleep } from './lib/net.js';
import { RequestFailed, type Recorder } from './soak-record.js';

const REPLY_TIMEOUT_MS = 5_000;

/**
 * WebSockets held open through the balancer for the whole run, each sending an echo message every
 * `intervalMs` and checking the reply. Every message counts as a request (stream `ws-echo`), every
 * (re)connection too (`ws-open`); a socket that closes or stops answering is opened again.
 */
export class WebSocketFleet {
  #stopped = false;
  readonly #loops: Promise<void>[] = [];
  readonly #open = new Set<WebSocketClient>();

  constructor(
    readonly origin: string,
    readonly ca: string,
    readonly recorder: Recorder,
  ) {}

  start(sockets: number, intervalMs: number): void {
    for (let i = 0; i < sockets; i++) this.#loops.push(this.#hold(i, intervalMs));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const ws of this.#open) ws.socket.end();
    await Promise.all(this.#loops);
  }

  async #hold(index: number, intervalMs: number): Promise<void> {
    const port = Number(new URL(this.origin).port);
    // Spread the sockets' messages over the interval.
    await sleep((index * intervalMs) / Math.max(1, this.#loops.length + 1));
    while (!this.#stopped) {
      let ws: WebSocketClient | undefined;
      await this.recorder.run('ws-open', this.origin, false, false, async (progress) => {
        const opened = await Promise.race([
          openWebSocket(port, `/ws/${index}`, { 'x-request-id': `ws-${index}-${Date.now()}` }, this.ca),
          sleep(REPLY_TIMEOUT_MS).then(() => undefined),
        ]);
        if (!opened) throw new RequestFailed('no upgrade in 5 s');
        if (opened.status !== 101) {
          opened.socket.destroy();
          throw new RequestFailed(`HTTP ${opened.status}`);
        }
        progress.responded();
        ws = opened;
      });
      if (!ws) {
        await sleep(250);
        continue;
      }
      const socket: WebSocketClient = ws;
      this.#open.add(socket);
      socket.socket.on('error', () => undefined);
      let closed = false;
      void socket.closed.then(() => (closed = true));
      for (let n = 0; !this.#stopped && !closed; n++) {
        const text = `m${index}-${n}-${'x'.repeat(Math.floor(16 * 1024 ** Math.random()))}`;
        const ok = await this.recorder.run('ws-echo', this.origin, false, true, async (progress) => {
          socket.send(text);
          const frame = await Promise.race([
            socket.next(REPLY_TIMEOUT_MS),
            socket.closed.then(() => undefined),
          ]).catch(() => undefined);
          if (frame === undefined) throw new RequestFailed(closed ? 'socket closed' : 'no echo in 5 s');
          if (frame.opcode === 0x8) throw new RequestFailed(`closed by the balancer (${closeCode(frame)})`);
          progress.responded();
          if (!frame.payload.toString().endsWith(`:${text}`))
            throw new RequestFailed('echo differs', 'wrong-body');
        });
        if (!ok) break;
        await sleep(intervalMs);
      }
      this.#open.delete(socket);
      socket.socket.destroy();
      if (!this.#stopped) await sleep(250);
    }
  }
}
