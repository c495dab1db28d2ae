import type { ServerHttp2Session } from 'node:http2';
import { http2 } from './lazy-protocols.js';

export interface H2GuardLimits {
  /** Streams a client may reset before their response; past it, and past half its streams, GOAWAY. */
  readonly maxResets: number;
  /** PING and SETTINGS frames a client may send per second. */
  readonly maxControlFrames: number;
}

/**
 * Watches one client session for the floods that cost the balancer work but the client nothing:
 * streams opened and reset at once (rapid reset, CVE-2023-44487), and PING or SETTINGS floods
 * (CVE-2019-9512, -9515). A session that floods gets GOAWAY ENHANCE_YOUR_CALM and is closed.
 * Envoy's rule for resets is the model: a client that cancels most of what it asks is an attacker,
 * one that cancels a few is a browser.
 */
export class SessionGuard {
  readonly #session: ServerHttp2Session;
  readonly #limits: H2GuardLimits;
  readonly #onFlood: (reason: string) => void;
  #streams = 0;
  #resets = 0;
  #controlFrames = 0;
  #windowStart = 0;
  #tripped = false;

  constructor(session: ServerHttp2Session, limits: H2GuardLimits, onFlood: (reason: string) => void) {
    this.#session = session;
    this.#limits = limits;
    this.#onFlood = onFlood;
    const control = () => this.#controlFrame();
    session.on('ping', control);
    session.on('remoteSettings', control);
  }

  streamOpened(): void {
    this.#streams++;
  }

  /** The client reset a stream before its response was complete. */
  prematureReset(): void {
    this.#resets++;
    if (this.#resets >= this.#limits.maxResets && this.#resets * 2 >= this.#streams) {
      this.#trip(`${this.#resets} of ${this.#streams} streams reset by the client (rapid reset)`);
    }
  }

  #controlFrame(): void {
    const now = performance.now();
    if (now - this.#windowStart >= 1_000) {
      this.#windowStart = now;
      this.#controlFrames = 0;
    }
    if (++this.#controlFrames > this.#limits.maxControlFrames) {
      this.#trip(`more than ${this.#limits.maxControlFrames} PING or SETTINGS frames in a second`);
    }
  }

  #trip(reason: string): void {
    if (this.#tripped) return;
    this.#tripped = true;
    this.#onFlood(reason);
    // GOAWAY with ENHANCE_YOUR_CALM, then the connection is closed without waiting for its streams.
    // (destroy(error, code) would drop the socket before the GOAWAY is written.)
    this.#session.goaway(http2().constants.NGHTTP2_ENHANCE_YOUR_CALM);
    this.#session.destroy();
  }
}
