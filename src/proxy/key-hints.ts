import type { RoutingTable } from '../membership/routing-table.js';
import { unbounded } from '../ring/bounded/bounded-load-ring.js';
import type { Ring } from '../ring/ring.js';

/**
 * Hand-off hints: what ringlb tells a replica about the key of the request it is sent.
 * - `x-ringlb-previous-owner: <name> <origin>`: for `--handoff-window` after a ring change, on a
 *   request whose key had another owner before the change, so a cache can fetch the entry from that
 *   replica instead of from its origin.
 * - `x-ringlb-owners: <name> <origin>, ...`: the key's preference list, `--owners-header` distinct
 *   replicas in the ring's order (owner first), for replicated stores.
 * Both are ringlb's alone: a client's own copies are removed before the request leaves.
 */
export const PREVIOUS_OWNER_HEADER = 'x-ringlb-previous-owner';
export const OWNERS_HEADER = 'x-ringlb-owners';

/** The header values for one request; a header that does not apply is absent. */
export interface KeyHints {
  readonly previousOwner?: string;
  readonly owners?: string;
}

/** How a replica is named in a hint: its name, a space, its origin (names never end in a space). */
export function replicaLabel(name: string, origin: string): string {
  return `${name} ${origin}`;
}

/**
 * The ring a change replaced, kept for the hand-off window after the change. Ownership only: bounded
 * loads may send a key elsewhere for a moment, but the entry lives with the key's owner.
 */
export interface PreviousRing {
  readonly ring: Ring;
}

/** The `x-ringlb-previous-owner` value for a request with `key` sent to member `target` of `current`. */
export function previousOwnerHint(
  key: number,
  target: number,
  current: RoutingTable,
  previous: PreviousRing | undefined,
): string | undefined {
  if (previous === undefined || target < 0) return undefined;
  // The one extra pick a hint costs.
  const index = previous.ring.pick(key);
  if (index < 0) return undefined;
  const name = previous.ring.members[index]!.name;
  if (name === current.routes[target]!.name) return undefined;
  // Only a replica still in the ring can be asked; one that left may be gone already.
  const route = current.routes.find((r) => r.name === name);
  return route === undefined ? undefined : replicaLabel(route.name, route.origin);
}

/** The `x-ringlb-owners` value: the first `k` distinct members for `key`, owner first. */
export function ownersHint(key: number, current: RoutingTable, k: number): string | undefined {
  if (k <= 0) return undefined;
  const ring = unbounded(current.ring);
  const count = Math.min(k, ring.members.length);
  if (count === 0) return undefined;
  let value = '';
  for (let attempt = 0; attempt < count; attempt++) {
    const route = current.routes[ring.pick(key, attempt)]!;
    value += `${attempt === 0 ? '' : ', '}${replicaLabel(route.name, route.origin)}`;
  }
  return value;
}

/** Both hints for one request. Pure. */
export function keyHints(
  key: number,
  target: number,
  current: RoutingTable,
  previous: PreviousRing | undefined,
  owners: number,
): KeyHints {
  const previousOwner = previousOwnerHint(key, target, current, previous);
  const list = ownersHint(key, current, owners);
  return {
    ...(previousOwner === undefined ? {} : { previousOwner }),
    ...(list === undefined ? {} : { owners: list }),
  };
}

/**
 * The previous ring, kept for `windowMs` after the last change. Changes that follow each other
 * within the window (a slow start's steps, an /add of several replicas) keep the ring from before
 * the first of them: the owner that had the entry is the one from before the burst, not a replica
 * that was handed the key a second ago and may not have fetched it yet. Expiry is a timer, so a
 * request pays nothing to learn whether a window is open.
 */
export class RingHistory {
  readonly #windowMs: number;
  #previous: PreviousRing | undefined;
  #expiry: NodeJS.Timeout | undefined;

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  /** The ring before the changes of the open window, or undefined when none is open. */
  get previous(): PreviousRing | undefined {
    return this.#previous;
  }

  /** A new table replaces `replaced`: opens (or extends) the window. */
  changed(replaced: RoutingTable): void {
    // A ring filled from nothing hands off no key.
    if (this.#windowMs <= 0 || (this.#previous === undefined && replaced.routes.length === 0)) return;
    this.#previous ??= { ring: unbounded(replaced.ring) };
    clearTimeout(this.#expiry);
    this.#expiry = setTimeout(() => {
      this.#previous = undefined;
      this.#expiry = undefined;
    }, this.#windowMs);
    this.#expiry.unref();
  }

  close(): void {
    clearTimeout(this.#expiry);
    this.#previous = undefined;
  }
}

/**
 * The headers of `keyHints`, by name, as a frontend adds them to the request it sends; undefined
 * when none applies. Outside a hand-off window and without `--owners-header` this allocates nothing
 * and picks nothing: the request pays one comparison.
 */
export function hintHeaders(
  key: number,
  target: number,
  current: RoutingTable,
  previous: PreviousRing | undefined,
  owners: number,
): Record<string, string> | undefined {
  if (previous === undefined && owners <= 0) return undefined;
  const hints = keyHints(key, target, current, previous, owners);
  if (hints.previousOwner === undefined && hints.owners === undefined) return undefined;
  const headers: Record<string, string> = {};
  if (hints.previousOwner !== undefined) headers[PREVIOUS_OWNER_HEADER] = hints.previousOwner;
  if (hints.owners !== undefined) headers[OWNERS_HEADER] = hints.owners;
  return headers;
}

/**
 * An HTTP/1.1 request head (ending in its blank line) with the hint fields added before that line:
 * how the raw-socket paths (the fast HTTP/1.1 path, HTTP/2 to HTTP/1.1 replicas) send hints. The head
 * given is the one built without them (the client's copies already dropped), so each try starts
 * from it again. A body may follow the head in `request`: `headLength` says where the head ends.
 */
export function withHintFields(
  request: Buffer,
  hints: Record<string, string>,
  headLength = request.length,
): Buffer {
  let fields = '';
  for (const name in hints) fields += `${name}: ${hints[name]}\r\n`;
  const out = Buffer.allocUnsafe(request.length + Buffer.byteLength(fields, 'latin1'));
  // The head ends in CRLF CRLF: the fields go after the last header line's CRLF.
  const at = headLength - 2;
  request.copy(out, 0, 0, at);
  const after = at + out.write(fields, at, 'latin1');
  request.copy(out, after, at);
  return out;
}
