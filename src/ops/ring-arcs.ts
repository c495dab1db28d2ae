import type { Ring } from '../ring/ring.js';

/** A stretch of the circle owned by one member; `start` and `end` are fractions of a turn. */
export interface Arc {
  readonly start: number;
  readonly end: number;
  readonly member: number;
}

export interface RingDrawing {
  /** `slots` when arcs are the ring's exact slots, `shares` when drawn from each member's share. */
  readonly exact: boolean;
  readonly arcs: Arc[];
  /** Where virtual nodes sit (fractions of a turn), when the ring exposes them. */
  readonly points: { readonly at: number; readonly member: number }[];
}

/** A ring that exposes its slot table (the classic ring): slot → member index of the vnode there, or -1. */
interface SlotRing extends Ring {
  readonly placement: Int32Array;
}

function hasSlots(ring: Ring): ring is SlotRing {
  return (ring as Partial<SlotRing>).placement instanceof Int32Array;
}

/**
 * What the dashboard draws. For a ring with a slot table each slot belongs to the first virtual node
 * clockwise (the slot itself included), exactly as `pick` routes; any other ring is drawn as one arc
 * per member sized by `shares()`, which is what every algorithm can tell.
 */
export function ringArcs(ring: Ring): RingDrawing {
  if (ring.members.length === 0) return { exact: hasSlots(ring), arcs: [], points: [] };
  if (!hasSlots(ring)) {
    let start = 0;
    const arcs = ring.shares().map((share, member) => {
      const arc = { start, end: start + share, member };
      start += share;
      return arc;
    });
    return { exact: false, arcs: arcs.filter((arc) => arc.end > arc.start), points: [] };
  }
  const { placement } = ring;
  const size = placement.length;
  const owner = new Int32Array(size);
  let next = -1;
  for (let step = 2 * size - 1; step >= 0; step--) {
    const slot = step % size;
    if (placement[slot] !== -1) next = placement[slot]!;
    owner[slot] = next;
  }
  const arcs: Arc[] = [];
  let from = 0;
  for (let slot = 1; slot <= size; slot++) {
    if (slot === size || owner[slot] !== owner[from]) {
      arcs.push({ start: from / size, end: slot / size, member: owner[from]! });
      from = slot;
    }
  }
  const points: { at: number; member: number }[] = [];
  placement.forEach((member, slot) => {
    if (member !== -1) points.push({ at: slot / size, member });
  });
  return { exact: true, arcs, points };
}
