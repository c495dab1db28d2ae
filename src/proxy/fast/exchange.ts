import type { ResponseHead } from '../http1/response-head.js';
import type { UpstreamConnection } from './upstream-connection.js';

/**
 * One request on its way to a replica, as the upstream connection sees it: the bytes to send and
 * where the answer goes. The front connection implements the callbacks.
 */
export interface Exchange {
  /** The upstream request head (the whole request when it has no body). */
  readonly bytes: Buffer;
  /**
   * The request has a body, written after the head by the exchange itself once attached; the
   * connection takes nothing else until the exchange calls `bodyWritten`.
   */
  readonly hasBody: boolean;
  /**
   * The head with the whole body behind it in one buffer, when the body is small and has arrived
   * whole; the exchange then writes no body bytes itself on `attach`. Null: `bytes`, then the body.
   */
  withBody?(): Buffer | null;
  /** HEAD responses have no body whatever their headers say. */
  readonly isHead: boolean;
  /** May ride on a connection behind other requests (safe, bodyless). */
  readonly pipelinable: boolean;
  /** Set once the client has gone: the response is read and dropped. */
  abandoned: boolean;
  /** The connection the request head was written to (it may have waited for one). */
  attach(connection: UpstreamConnection): void;
  /**
   * The response was complete but the connection closed before the body was written whole (the
   * replica answered early and would not read the rest).
   */
  onBodyCut(): void;
  /**
   * `bodyFollows`: body bytes came in the same read, and `onResponseData` gets them right after this
   * call, so the head may wait for them and leave with them.
   */
  onResponseHead(head: ResponseHead, rawHeadLength: number, bodyFollows: boolean): void;
  /**
   * Response body bytes `buf[start, end)`. With `borrowsReads`, `buf` is the connection's read
   * buffer, overwritten by its next read: the exchange uses the bytes before it returns, or calls
   * `holdReads` on the connection until it no longer needs them. Otherwise the bytes are its own.
   */
  onResponseData(buf: Buffer, start: number, end: number): void;
  /** Takes response bytes in the connection's read buffer (see onResponseData). */
  readonly borrowsReads?: boolean;
  onResponseEnd(): void;
  /**
   * The exchange failed. `sent` is false when the bytes provably never reached the replica (the
   * connection was never established), `responded` is true once response bytes reached the client.
   */
  onFailure(error: UpstreamError): void;
}

/** `gone`: the replica left the ring before the request was written to it. */
export type UpstreamFailure = 'connect' | 'gone' | 'reset' | 'timeout' | 'protocol' | 'closed';

export class UpstreamError extends Error {
  readonly kind: UpstreamFailure;
  /** Whether the request may have reached the replica. */
  readonly sent: boolean;
  /** Whether part of the response was already passed to the client. */
  readonly responded: boolean;

  constructor(kind: UpstreamFailure, message: string, sent: boolean, responded: boolean) {
    super(message);
    this.name = 'UpstreamError';
    this.kind = kind;
    this.sent = sent;
    this.responded = responded;
  }
}
