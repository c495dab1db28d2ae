import { seededRandom } from '../../core/seeded-random.js';
import type { Ring } from '../ring.js';

/**
 * In-flight load under a skewed key distribution, simulated without I/O: requests arrive with keys
 * of which one hot key takes `hotShare`, the ring places each (its member's load goes up) and a random
 * outstanding request finishes whenever `inFlight` are outstanding. Used by the bounded-load tests
 * and the analysis to check the cap: no member above ceil(c × mean) + 1.
 */
export interface LoadSimulation {
  readonly arrivals: number;
  readonly inFlight: number;
  readonly hotShare: number;
  /** The bound checked at every arrival: ceil(factor × mean in-flight) + 1. */
  readonly boundFactor: number;
  readonly seed?: number;
}

export interface LoadSimulationResult {
  /** Largest (member load − bound) seen at any arrival; ≤ 0 means the bound always held. */
  readonly worstExcess: number;
  /** Largest max/mean in-flight ratio seen once `inFlight` requests are outstanding. */
  readonly worstMaxOverMean: number;
  /** The share of hot-key requests that its own member (attempt 0 of the unbounded ring) took. */
  readonly hotOnOwnerShare: number;
}

const HOT_KEY = 777;

/** Runs the simulation on `ring`, whose picks must read `loads` (or ignore them, for a baseline). */
export function simulateLoad(
  ring: Ring,
  owner: Ring,
  loads: Int32Array,
  options: LoadSimulation,
): LoadSimulationResult {
  const random = seededRandom(options.seed ?? 42);
  const outstanding: number[] = [];
  const hotOwner = owner.pick(HOT_KEY);
  let worstExcess = -Infinity;
  let worstMaxOverMean = 0;
  let hot = 0;
  let hotOnOwner = 0;
  for (let step = 0; step < options.arrivals; step++) {
    const isHot = random() < options.hotShare;
    const index = ring.pick(isHot ? HOT_KEY : Math.floor(random() * 2 ** 32));
    loads[index]!++;
    outstanding.push(index);
    if (isHot) {
      hot++;
      if (index === hotOwner) hotOnOwner++;
    }
    let total = 0;
    let max = 0;
    for (const load of loads) {
      total += load;
      max = Math.max(max, load);
    }
    const mean = total / loads.length;
    worstExcess = Math.max(worstExcess, max - (Math.ceil(options.boundFactor * mean) + 1));
    if (outstanding.length >= options.inFlight) {
      worstMaxOverMean = Math.max(worstMaxOverMean, max / mean);
      const [done] = outstanding.splice(Math.floor(random() * outstanding.length), 1);
      loads[done!]!--;
    }
  }
  return { worstExcess, worstMaxOverMean, hotOnOwnerShare: hot === 0 ? 0 : hotOnOwner / hot };
}
