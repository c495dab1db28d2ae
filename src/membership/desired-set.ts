import { RinglbError, seedMessage } from '../core/errors.js';
import type { ReplicaSpec } from '../providers/provider.js';
import { defaultReplicaName, lowestFreeNumber } from './numbering.js';

/** One wanted replica: its number and, for a server that runs anyway (static), its address. */
export interface DesiredMember {
  readonly number: number;
  /** The origin of an existing server (`http://host:port`); undefined for replicas a provider starts. */
  readonly backend?: string;
  /** Its relative share of keys (`/add`'s `weights`, `PUT /replicas/<name>`); undefined: 1. */
  readonly weight?: number;
}

/** The replicas a cluster wants, by name; every number (and every backend) is held by one name only. */
export type DesiredSet = ReadonlyMap<string, DesiredMember>;

export interface AddRequest {
  readonly n: number;
  readonly hostnames: readonly string[];
  /** Existing servers to register (static provider), one per new replica, in order. */
  readonly backends?: readonly string[];
}

/** What every way of changing membership checks, in one place (local, etcd, Swarm alike). */
export interface PlanRules {
  /** The most replicas the ring (and the provider) can hold. */
  readonly capacity: number;
  /** Why a name cannot name a replica with this provider, or undefined. */
  readonly nameProblem?: (name: string) => string | undefined;
  /** Why replicas cannot be removed by these names with this provider (Swarm picks), or undefined. */
  readonly removalProblem?: (hostnames: readonly string[]) => string | undefined;
  /**
   * Members are existing servers (static provider): an add without `backends` takes servers of this
   * list (`--backends`) that no member uses, member k preferring the k-th. Undefined: replicas are
   * started by a provider, and `backends` is refused.
   */
  readonly backendPool?: readonly string[];
}

const invalid = (message: string) => new RinglbError('ERR_INVALID_BODY', seedMessage(message));

/**
 * The set after adding `request.n` replicas (named ones first, then generated names), each with the
 * lowest free number. Throws the seed's errors for a taken name or a full ring and changes nothing.
 */
export function planAdd(
  current: DesiredSet,
  request: AddRequest,
  rules: PlanRules,
): Map<string, DesiredMember> {
  const taken = new Set(current.keys());
  const seen = new Set<string>();
  const duplicate = (name: string) =>
    new RinglbError('ERR_DUPLICATE_HOSTNAME', seedMessage(`hostname '${name}' is already in use`));
  for (const name of request.hostnames) {
    const problem = rules.nameProblem?.(name);
    if (problem) throw invalid(problem);
    if (taken.has(name) || seen.has(name)) throw duplicate(name);
    seen.add(name);
  }
  const room = rules.capacity - current.size;
  if (request.n > room) {
    throw new RinglbError(
      'ERR_RING_FULL',
      seedMessage(
        `cannot add ${request.n} replica${request.n === 1 ? '' : 's'}: the ring holds at most ${rules.capacity} and has ${current.size}`,
      ),
    );
  }
  const next = new Map(current);
  const numbers = new Set([...current.values()].map((member) => member.number));
  const added: [string, number][] = [];
  for (let k = 0; k < request.n; k++) {
    const number = lowestFreeNumber(numbers);
    numbers.add(number);
    const generated = k >= request.hostnames.length;
    const name = generated ? defaultReplicaName(number) : request.hostnames[k]!;
    if (generated && (taken.has(name) || seen.has(name))) throw duplicate(name);
    seen.add(name);
    added.push([name, number]);
  }
  const backends = backendsFor(current, request, rules, added);
  added.forEach(([name, number], k) =>
    next.set(name, backends ? { number, backend: backends[k]! } : { number }),
  );
  return next;
}

/** The servers the new members are (static), or undefined where a provider starts replicas. */
function backendsFor(
  current: DesiredSet,
  request: AddRequest,
  rules: PlanRules,
  added: readonly [string, number][],
): string[] | undefined {
  const used = new Map([...current].map(([name, member]) => [member.backend, name]));
  if (request.backends !== undefined) {
    if (!rules.backendPool) {
      throw invalid("'backends' registers existing servers: it needs --provider static");
    }
    if (request.backends.length !== added.length) {
      throw invalid(`${request.backends.length} backends for ${added.length} new replicas: give one each`);
    }
    request.backends.forEach((backend, k) => {
      if (used.has(backend)) {
        throw new RinglbError(
          'ERR_DUPLICATE_BACKEND',
          seedMessage(`backend ${backend} is already replica '${used.get(backend)}'`),
        );
      }
      if (request.backends!.indexOf(backend) !== k) throw invalid(`backend ${backend} is listed twice`);
    });
    return [...request.backends];
  }
  if (!rules.backendPool) return undefined;
  const pool = rules.backendPool;
  const free = pool.filter((backend) => !used.has(backend));
  if (free.length < added.length) {
    throw new RinglbError(
      'ERR_RING_FULL',
      seedMessage(
        `cannot add ${added.length} replica${added.length === 1 ? '' : 's'}: ${free.length} of the ${pool.length} static backends are unused; register servers with {"backends":["http://host:port"]}`,
      ),
    );
  }
  return added.map(([, number]) => {
    // Member k keeps backend k across removals and adds where it can, as with --backends.
    const preferred = pool[number - 1];
    const backend = preferred !== undefined && free.includes(preferred) ? preferred : free[0]!;
    free.splice(free.indexOf(backend), 1);
    return backend;
  });
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
): Map<string, DesiredMember> {
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
  return [...set]
    .map(([name, { number, backend }]) =>
      backend === undefined ? { name, number } : { name, number, backend },
    )
    .sort((a, b) => a.number - b.number);
}

/** Each member's weight (1 unless set), by name: what the ring weights them by. */
export function weightsOf(set: DesiredSet): Record<string, number> {
  return Object.fromEntries([...set].map(([name, member]) => [name, member.weight ?? 1]));
}

/** Whether two sets want the same replicas (names, numbers and backends). */
export function sameDesired(a: DesiredSet, b: DesiredSet): boolean {
  if (a.size !== b.size) return false;
  for (const [name, member] of a) {
    const other = b.get(name);
    if (other?.number !== member.number || other.backend !== member.backend) return false;
  }
  return true;
}
