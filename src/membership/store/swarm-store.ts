import { RinglbError, seedMessage } from '../../core/errors.js';
import { EngineError } from '../../providers/docker/engine.js';
import type { ServiceSnapshot, SwarmService } from '../../providers/swarm/swarm-service.js';
import { sameDesired, type DesiredMember, type DesiredSet } from '../desired-set.js';
import type { DesiredStore, StoredDesired } from '../desired-store.js';
import { defaultReplicaName } from '../numbering.js';

/**
 * The desired set held by Swarm itself: replica k is the task slot k of the service, and the set is
 * the slots the manager wants running. A change scales the service (its count is all one can
 * write: Swarm picks the slots, the lowest free ones on the way up and its own choice on the way
 * down), written at the service's version and retried on a conflict, so several balancers scaling
 * at once lose nothing, with no store of their own. Revisions are this instance's: they count the
 * sets it has seen.
 */
export class SwarmDesiredStore implements DesiredStore {
  readonly kind = 'swarm';
  readonly #service: SwarmService;
  readonly #listeners: ((state: StoredDesired) => void)[] = [];
  #state: StoredDesired | undefined;

  constructor(service: SwarmService) {
    this.#service = service;
    service.onSnapshot((snapshot) => {
      // Only a count the manager has acted on is a desired set; in between, tasks lag the spec.
      if (snapshot.wanted.size !== snapshot.replicas) return;
      const before = this.#state;
      const state = this.#stateOf(snapshot);
      if (state !== before) for (const listener of this.#listeners) listener(state);
    });
  }

  async read(): Promise<StoredDesired> {
    return this.#stateOf(await unavailableAs503(this.#service.converged()));
  }

  async update(change: (current: DesiredSet | undefined) => DesiredSet): Promise<StoredDesired> {
    const snapshot = await unavailableAs503(
      this.#service.scale((current) => change(desiredOf(current.wanted)).size),
    );
    return this.#stateOf(snapshot);
  }

  async watch(_revision: number, listener: (state: StoredDesired) => void): Promise<void> {
    this.#listeners.push(listener);
  }

  async close(): Promise<void> {
    this.#listeners.length = 0;
    await this.#service.close();
  }

  /** The state for a converged snapshot: a new revision only when the set differs from the last. */
  #stateOf(snapshot: ServiceSnapshot): StoredDesired {
    const set = desiredOf(snapshot.wanted);
    if (this.#state && sameDesired(this.#state.set, set)) return this.#state;
    this.#state = { set, revision: (this.#state?.revision ?? 0) + 1 };
    return this.#state;
  }
}

/** Slot k is replica number k, named "Server k". */
function desiredOf(slots: ReadonlySet<number>): Map<string, DesiredMember> {
  return new Map(
    [...slots].sort((a, b) => a - b).map((slot) => [defaultReplicaName(slot), { number: slot }]),
  );
}

/** A manager that does not answer (or has not acted yet) is a 503 that changes nothing. */
async function unavailableAs503<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (!(error instanceof EngineError)) throw error;
    throw new RinglbError(
      'ERR_STORE_UNAVAILABLE',
      seedMessage(`membership store unavailable (Swarm): ${error.message}`),
      503,
    );
  }
}
