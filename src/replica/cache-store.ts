/**
 * A cache replica's entries: at most `capacity` of them, the least recently used one dropped first
 * (a Map keeps insertion order, and a hit moves its entry to the end). Pure: no I/O.
 */
export interface CacheEntry {
  readonly body: Buffer;
  readonly contentType: string;
}

export class CacheStore {
  readonly #capacity: number;
  readonly #entries = new Map<string, CacheEntry>();

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`a cache holds at least 1 entry, not ${capacity}`);
    }
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): CacheEntry | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry;
  }

  set(key: string, entry: CacheEntry): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    if (this.#entries.size > this.#capacity) this.#entries.delete(this.#entries.keys().next().value!);
  }
}

/**
 * The origin of the replica an `x-ringlb-previous-owner` hint names (`<name> <origin>`), or undefined
 * when the value is not one ringlb writes: only a plain http:// origin is ever asked.
 */
export function previousOwnerOrigin(hint: string | undefined): string | undefined {
  if (hint === undefined) return undefined;
  const space = hint.lastIndexOf(' ');
  if (space <= 0) return undefined;
  const origin = hint.slice(space + 1);
  if (!/^http:\/\/[^/?#@\s]+$/.test(origin)) return undefined;
  try {
    return new URL(origin).origin;
  } catch {
    return undefined;
  }
}
