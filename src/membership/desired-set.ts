import { RinglbError, seedMessage } from '../core/errors.js';
import type { ReplicaSpec } from '../providers/provider.js';
import { defaultReplicaName, lowestFreeNumber } from './numbering.js';

/** The replicas a cluster wants, by name; every number is held by one name only. */
export type DesiredSet = ReadonlyMap<string, number>;

export interface AddRequest {
  readonly n: number;
  readonly hostnames: readonly string[];
}

/**
 * The set after adding `request.n` replicas (named ones first, then generated names), each with the
 * lowest free number. Throws the seed's errors for a taken name or a full ring and changes nothing.
 */
export function planAdd(
  current: DesiredSet,
  request: AddRequest,
  capacity: number,
  nameProblem?: (name: string) => string | undefined,
): Map<string, number> {
  const taken = new Set(current.keys());
  const seen = new Set<string>();
  const duplicate = (name: string) =>
    new RinglbError('ERR_DUPLICATE_HOSTNAME', seedMessage(`hostname '${name}' is already in use`));
  for (const name of request.hostnames) {
    const problem = nameProblem?.(name);
    if (problem) throw new RinglbError('ERR_INVALID_BODY', seedMessage(problem));
    if (taken.has(name) || seen.has(name)) throw duplicate(name);
    seen.add(name);
  }
  const room = capacity - current.size;
  if (request.n > room) {
    throw new RinglbError(
      'ERR_RING_FULL',
      seedMessage(
        `cannot add ${request.n} replica${request.n === 1 ? '' : 's'}: the ring holds at most ${capacity} and has ${current.size}`,
      ),
    );
  }
  const next = new Map(current);
  const numbers = new Set(current.values());
  for (let k = 0; k < request.n; k++) {
    const number = lowestFreeNumber(numbers);
    numbers.add(number);
    const generated = k >= request.hostnames.length;
    const name = generated ? defaultReplicaName(number) : request.hostnames[k]!;
    if (generated && (taken.has(name) || seen.has(name))) throw duplicate(name);
    seen.add(name);
    next.set(name, number);
  }
  return next;
}

/**
 * The set after removing the named replicas and, to make up `n`, others picked with `random`
 * (a number in [0, 1)). Throws the seed's errors for an unknown or repeated name or too large an n.
 */
export function planRemove(
  current: DesiredSet,
  n: number,
  hostnames: readonly string[],
  random: () => number = Math.random,
): Map<string, number> {
  const chosen = new Set<string>();
  for (const name of hostnames) {
    if (!current.has(name)) {
      throw new RinglbError('ERR_UNKNOWN_HOSTNAME', seedMessage(`hostname '${name}' is not a replica`));
    }
    if (chosen.has(name)) {
      throw new RinglbError('ERR_DUPLICATE_HOSTNAME', seedMessage(`hostname '${name}' is listed twice`));
    }
    chosen.add(name);
  }
  if (n > current.size) {
    throw new RinglbError(
      'ERR_TOO_MANY_REMOVALS',
      seedMessage(`cannot remove ${n} replicas: there are only ${current.size}`),
    );
  }
  const rest = [...current.keys()].filter((name) => !chosen.has(name));
  while (chosen.size < n) chosen.add(rest.splice(Math.floor(random() * rest.length), 1)[0]!);
  const next = new Map(current);
  for (const name of chosen) next.delete(name);
  return next;
}

/** The set as replica specs, by number. */
export function specsOf(set: DesiredSet): ReplicaSpec[] {
  return [...set].map(([name, number]) => ({ name, number })).sort((a, b) => a.number - b.number);
}
