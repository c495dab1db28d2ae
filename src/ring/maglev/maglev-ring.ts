import { RinglbError } from '../../core/errors.js';
import { xxh32Int, xxh32String } from '../../core/xxhash32.js';
import { byNumber, type Ring, type RingMember } from '../ring.js';
import { SeenSet } from '../seen-set.js';
import { weightOf } from '../weights.js';

/**
 * Maglev hashing (Eisenbud et al., NSDI 2016, §3.4): every member walks its own permutation of a
 * prime-sized lookup table (offset and skip from two hashes of its name) and the members take turns
 * claiming their next free entry until the table is full. A key is one table lookup. Weights follow
 * Envoy's weighted Maglev: a member with half the largest weight claims on every second turn.
 */
export interface MaglevOptions {
  /** Lookup table size; must be prime. The paper suggests at least 100 × the number of members. */
  readonly tableSize: number;
}

export const MAGLEV_DEFAULTS: MaglevOptions = { tableSize: 65537 };
export const MAGLEV_MAX_TABLE_SIZE = 5_000_011;

const OFFSET_SEED = 0x6d61676c; // "magl"
const SKIP_SEED = 0x65763031; // "ev01"

export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/** Why `tableSize` cannot be a Maglev table, or undefined when it can. */
export function maglevTableProblem(tableSize: number): string | undefined {
  if (!Number.isInteger(tableSize) || tableSize < 3 || tableSize > MAGLEV_MAX_TABLE_SIZE) {
    return `the maglev table size must be an integer from 3 to ${MAGLEV_MAX_TABLE_SIZE}, not ${tableSize}`;
  }
  if (!isPrime(tableSize)) {
    let below = tableSize - 1;
    while (!isPrime(below)) below--;
    let above = tableSize + 1;
    while (!isPrime(above)) above++;
    return `the maglev table size must be a prime number; ${tableSize} is not (nearest primes: ${below}, ${above})`;
  }
  return undefined;
}

export class MaglevRing implements Ring {
  readonly members: readonly RingMember[];
  /** entry → member index. */
  readonly table: Int32Array;
  readonly #seen: SeenSet;

  constructor(members: readonly RingMember[], options: MaglevOptions = MAGLEV_DEFAULTS) {
    const size = options.tableSize;
    const problem = maglevTableProblem(size);
    if (problem) throw new RinglbError('ERR_INVALID_CONFIG', problem);
    if (members.length > size) {
      throw new RinglbError(
        'ERR_RING_FULL',
        `a maglev table of ${size} entries holds at most ${size} replicas`,
      );
    }
    this.members = [...members].sort(byNumber);
    this.table = new Int32Array(size).fill(-1);
    this.#seen = new SeenSet(this.members.length);
    const n = this.members.length;
    if (n === 0) return;

    const position = new Float64Array(n);
    const skip = new Float64Array(n);
    const weight = new Float64Array(n);
    const turnsTaken = new Float64Array(n);
    this.members.forEach((member, i) => {
      position[i] = xxh32String(member.name, OFFSET_SEED) % size;
      skip[i] = (xxh32String(member.name, SKIP_SEED) % (size - 1)) + 1;
      weight[i] = weightOf(member);
    });
    const maxWeight = Math.max(...weight);
    let filled = 0;
    for (let turn = 0; filled < size; turn++) {
      for (let i = 0; i < n && filled < size; i++) {
        // A member of weight w claims on a fraction w / maxWeight of the turns.
        if (turn * weight[i]! < turnsTaken[i]!) continue;
        turnsTaken[i]! += maxWeight;
        let entry = position[i]!;
        while (this.table[entry] !== -1) entry = (entry + skip[i]!) % size;
        this.table[entry] = i;
        position[i] = (entry + skip[i]!) % size;
        filled++;
      }
    }
  }

  pick(key: number, attempt = 0): number {
    const n = this.members.length;
    if (n === 0 || attempt >= n) return -1;
    const size = this.table.length;
    const entry = xxh32Int(key) % size;
    if (attempt === 0) return this.table[entry]!;
    // Retries walk the table onwards: its entries interleave members pseudo-randomly.
    this.#seen.clear();
    let distinct = 0;
    for (let step = 0; step < size; step++) {
      const index = this.table[(entry + step) % size]!;
      if (!this.#seen.add(index)) continue;
      if (distinct === attempt) return index;
      distinct++;
    }
    return -1;
  }

  shares(): number[] {
    const counts = new Array<number>(this.members.length).fill(0);
    for (const index of this.table) if (index >= 0) counts[index]!++;
    return counts.map((count) => count / this.table.length);
  }
}
