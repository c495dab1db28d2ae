import type { Socket } from 'node:net';

/**
 * How the bytes of one connection reach the balancer. TCP has no message boundaries, so a correct
 * front answers the same whichever way they are cut: in one write, in two writes split at any byte,
 * or one byte per write.
 */
export type Delivery =
  | { readonly kind: 'whole' }
  | { readonly kind: 'split'; readonly at: number }
  | { readonly kind: 'bytewise'; readonly upTo: number };

/** One byte per write for at most this many bytes (the rest goes in one write): keeps CI fast. */
export const BYTEWISE_LIMIT = 400;
/** The pause between writes, long enough for the balancer to read each piece on its own. */
export const GAP_MS = 1;

/** Every way of cutting `length` bytes: whole, split at each byte boundary, one byte at a time. */
export function everyDelivery(length: number): Delivery[] {
  const deliveries: Delivery[] = [{ kind: 'whole' }];
  for (let at = 1; at < length; at++) deliveries.push({ kind: 'split', at });
  deliveries.push({ kind: 'bytewise', upTo: Math.min(length, BYTEWISE_LIMIT) });
  return deliveries;
}

/** The delivery for case `index` of a fuzz run: the three kinds take turns, splits move along the bytes. */
export function deliveryFor(index: number, length: number): Delivery {
  if (length < 2 || index % 3 === 0) return { kind: 'whole' };
  if (index % 3 === 1) return { kind: 'split', at: 1 + ((index * 7919) % (length - 1)) };
  return { kind: 'bytewise', upTo: Math.min(length, BYTEWISE_LIMIT) };
}

export function describeDelivery(delivery: Delivery): string {
  if (delivery.kind === 'whole') return 'in one write';
  if (delivery.kind === 'split') return `split after byte ${delivery.at}`;
  return `one byte at a time (first ${delivery.upTo} bytes)`;
}

/** The writes a delivery makes of `bytes`. */
export function piecesOf(bytes: Buffer, delivery: Delivery): Buffer[] {
  if (delivery.kind === 'whole') return [bytes];
  if (delivery.kind === 'split') return [bytes.subarray(0, delivery.at), bytes.subarray(delivery.at)];
  const pieces: Buffer[] = [];
  for (let i = 0; i < delivery.upTo; i++) pieces.push(bytes.subarray(i, i + 1));
  if (delivery.upTo < bytes.length) pieces.push(bytes.subarray(delivery.upTo));
  return pieces;
}

/** Writes the pieces with a pause between them; resolves once the last is written (or the socket is gone). */
export async function deliver(socket: Socket, bytes: Buffer, delivery: Delivery): Promise<void> {
  socket.setNoDelay(true);
  const pieces = piecesOf(bytes, delivery);
  for (let i = 0; i < pieces.length; i++) {
    if (socket.destroyed || !socket.writable) return;
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, GAP_MS));
    if (socket.destroyed || !socket.writable) return;
    socket.write(pieces[i]!);
  }
}
