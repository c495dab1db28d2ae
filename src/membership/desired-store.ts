import type { DesiredSet } from './desired-set.js';

/** A desired set as a store holds it; a later revision always includes every earlier change. */
export interface StoredDesired {
  readonly set: DesiredSet;
  readonly revision: number;
}

/**
 * Where the desired set lives: in memory (one balancer), in etcd (several), or in the cluster
 * engine itself (a Swarm service's replica count). The control API writes it; the reconciler
 * watches it; nothing else changes membership.
 */
export interface DesiredStore {
  readonly kind: string;
  /** Whether members' weights are kept with the set (an engine's replica count keeps none). */
  readonly holdsWeights?: boolean;
  /** The set, or undefined if nobody has written one yet. */
  read(): Promise<StoredDesired | undefined>;
  /**
   * Applies `change` to the set as stored (undefined: none yet) and writes the result unless
   * someone wrote in between, else reads again and retries: concurrent writers lose nothing.
   * `change` may throw to refuse; then nothing is written.
   */
  update(change: (current: DesiredSet | undefined) => DesiredSet): Promise<StoredDesired>;
  /** Reports every set written after `revision` (by any writer). */
  watch(revision: number, listener: (state: StoredDesired) => void): Promise<void>;
  close(): Promise<void>;
}

/** The default: one balancer, the set in its memory; writes are serial, so nothing conflicts. */
export class MemoryDesiredStore implements DesiredStore {
  readonly kind = 'memory';
  readonly holdsWeights = true;
  #state: StoredDesired | undefined;
  readonly #listeners: ((state: StoredDesired) => void)[] = [];

  async read(): Promise<StoredDesired | undefined> {
    return this.#state;
  }

  async update(change: (current: DesiredSet | undefined) => DesiredSet): Promise<StoredDesired> {
    const set = change(this.#state?.set);
    this.#state = { set, revision: (this.#state?.revision ?? 0) + 1 };
    const state = this.#state;
    for (const listener of this.#listeners) listener(state);
    return state;
  }

  async watch(_revision: number, listener: (state: StoredDesired) => void): Promise<void> {
    this.#listeners.push(listener);
  }

  async close(): Promise<void> {
    this.#listeners.length = 0;
  }
}
