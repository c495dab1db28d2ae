import type { Socket } from 'node:net';

/**
 * Where the bytes of a client read are, and how long they may be kept:
 * - `own`: a buffer of their own (a TLS read, or bytes the front copied); keep them at will.
 * - `shared`: the one buffer every plain TCP client connection reads into; gone with the next read
 *   of any connection, so whatever is kept is copied.
 * - `private`: the connection's own read buffer while a request body streams; gone with its next
 *   read, which the connection holds back (see FrontConnection.holdReads) while a write still uses them.
 */
export type ReadBuffer = 'own' | 'shared' | 'private';

/** Why a client connection is not read (FrontConnection.stopReading); bits, read while none is set. */
/** The client sent pipelined requests past the limit while one is served. */
export const READ_STOP_PIPELINED = 1;
/** The request body waits for a replica's connection, or for its socket to drain. */
export const READ_STOP_BODY = 2;
/** A write upstream still uses bytes of the connection's read buffer (ReadBuffer `private`). */
export const READ_STOP_HELD = 4;

/** What Node reads at once from a socket anyway. */
export const READ_BUFFER_BYTES = 64 * 1024;

/**
 * Node gives every socket read a fresh 64 KiB allocation (shrunk to the bytes read), except for
 * sockets made with `onread`, which read into a buffer of the caller's. Accepted sockets cannot be
 * given `onread`, so the fast path sets the same three fields `onread` sets, on the socket Node
 * made. The fresh allocations cost a malloc, a realloc and an ArrayBuffer per read, and during
 * uploads they left the malloc heap 15 MB larger for good (a live few-KiB remnant pins each 64 KiB).
 */
const SHARED_READ_BUFFER = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);

/** Private read buffers of finished uploads, kept for the next ones (a few: 64 KiB each). */
const spare: Buffer[] = [];
const MAX_SPARE = 64;

export function sharedReadBuffer(): Buffer {
  return SHARED_READ_BUFFER;
}

export function takeReadBuffer(): Buffer {
  return spare.pop() ?? Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
}

/** Gives back a private buffer that nothing refers to any more. */
export function giveReadBuffer(buffer: Buffer): void {
  if (spare.length < MAX_SPARE) spare.push(buffer);
}

interface ReadFields {
  readonly buffer: symbol;
  readonly callback: symbol;
  readonly generator: symbol;
}

/** Node's names for the fields `onread` sets (net.js: kBuffer, kBufferCb, kBufferGen); null if gone. */
let fields: ReadFields | null | undefined;

function readFields(socket: Socket): ReadFields | null {
  if (fields !== undefined) return fields;
  const own = Object.getOwnPropertySymbols(socket);
  const find = (name: string) => own.find((symbol) => symbol.description === name);
  const buffer = find('kBuffer');
  const callback = find('kBufferCb');
  const generator = find('kBufferGen');
  fields = buffer && callback && generator ? { buffer, callback, generator } : null;
  return fields;
}

interface UserBufferHandle {
  useUserBuffer?(buffer: Uint8Array): void;
}

/** A read as Node passes it on without `onread`: a buffer of its own, pushed as 'data'. */
function pushCopy(this: Socket, bytes: number, buffer: Buffer): boolean {
  return this.push(Buffer.from(buffer.subarray(0, bytes)));
}

/**
 * A socket set up by readIntoOwnBuffers reads as Node's own do from now on (its reads pushed as
 * 'data', through the shared buffer), for another server to take it. What is set holds nothing of
 * the caller's: a WebSocket tunnel held for hours does not keep its first request's state.
 */
export function readLikeNode(socket: Socket): void {
  const names = readFields(socket);
  if (names === null) return;
  const target = socket as unknown as Record<symbol, unknown>;
  target[names.callback] = pushCopy;
  target[names.generator] = sharedReadBuffer;
}

/**
 * Makes a plain TCP socket read into the buffers `next` returns (asked again after every read; the
 * first one now), calling `onRead(bytes, buffer)` for each read instead of emitting 'data'. `onRead`
 * returning false stops reading until `socket.resume()`; `pause()` works as usual. Returns false,
 * changing nothing, for a socket this cannot be done for (TLS, bytes already buffered, or a Node
 * without those fields): the caller then reads 'data' events.
 */
export function readIntoOwnBuffers(
  socket: Socket,
  onRead: (bytes: number, buffer: Buffer) => boolean,
  next: () => Buffer,
): boolean {
  const handle = (socket as unknown as { _handle?: UserBufferHandle | null })._handle;
  if (!handle || typeof handle.useUserBuffer !== 'function') return false;
  if ((socket as { encrypted?: boolean }).encrypted || socket.destroyed || socket.readableLength > 0)
    return false;
  const names = readFields(socket);
  if (names === null) return false;
  const first = next();
  const target = socket as unknown as Record<symbol, unknown>;
  target[names.buffer] = first;
  target[names.callback] = onRead;
  target[names.generator] = next;
  handle.useUserBuffer(first);
  return true;
}
