import type { DesiredMember, DesiredSet } from '../desired-set.js';

/** Where a replica runs, as the leader recorded it; `revision` tells one run from the next. */
export interface RegistryEntry {
  readonly origin: string;
  readonly pid: number;
  /**
   * The host whose process it is (the starting instance's `--advertise-host`): a pid means something
   * on that host only. Entries written before hosts were recorded have none and count as local.
   */
  readonly host?: string;
  readonly revision: number;
}

/** Whether a registered replica is a process of `host`, so its pid may be checked and signalled. */
export function isProcessOf(entry: RegistryEntry, host: string): boolean {
  return entry.host === undefined || entry.host === host;
}

/**
 * The desired set as stored: `{"replicas":{"Server 1":1,...}}`, and beside it, for static members
 * their servers (`"backends":{"api-7":"http://10.0.0.7:8080"}`) and for weighted members their
 * weights (`"weights":{"api-7":2}`).
 */
export function encodeDesired(set: DesiredSet): string {
  const replicas = Object.fromEntries([...set].map(([name, member]) => [name, member.number]));
  const backends = Object.fromEntries(
    [...set].filter(([, member]) => member.backend !== undefined).map(([name, m]) => [name, m.backend]),
  );
  const weights = Object.fromEntries(
    [...set].filter(([, member]) => member.weight !== undefined).map(([name, m]) => [name, m.weight]),
  );
  return JSON.stringify({
    replicas,
    ...(Object.keys(backends).length > 0 ? { backends } : {}),
    ...(Object.keys(weights).length > 0 ? { weights } : {}),
  });
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The stored desired set; anything that is not a name → positive integer map is an error. */
export function decodeDesired(text: string): Map<string, DesiredMember> {
  const value = JSON.parse(text) as { replicas?: unknown; backends?: unknown; weights?: unknown };
  const replicas = value?.replicas;
  const backends = value?.backends ?? {};
  const weights = value?.weights ?? {};
  if (!isObject(replicas)) throw new Error('stored desired set has no "replicas" object');
  if (!isObject(backends)) throw new Error('stored desired set: "backends" is not an object');
  if (!isObject(weights)) throw new Error('stored desired set: "weights" is not an object');
  const set = new Map<string, DesiredMember>();
  const numbers = new Set<number>();
  for (const [name, number] of Object.entries(replicas)) {
    if (!Number.isInteger(number) || (number as number) < 1 || numbers.has(number as number)) {
      throw new Error(`stored desired set: bad or repeated number for "${name}"`);
    }
    numbers.add(number as number);
    const backend = backends[name];
    if (backend !== undefined && typeof backend !== 'string') {
      throw new Error(`stored desired set: bad backend for "${name}"`);
    }
    const weight = weights[name];
    if (weight !== undefined && !(typeof weight === 'number' && weight > 0 && weight <= 100)) {
      throw new Error(`stored desired set: bad weight for "${name}"`);
    }
    set.set(name, {
      number: number as number,
      ...(backend === undefined ? {} : { backend }),
      ...(weight === undefined ? {} : { weight }),
    });
  }
  return set;
}

/** A registry value, or undefined if it is not one (ignored rather than trusted). */
export function decodeRegistryEntry(text: string, revision: number): RegistryEntry | undefined {
  try {
    const value = JSON.parse(text) as { origin?: unknown; pid?: unknown; host?: unknown };
    if (typeof value.origin !== 'string' || !Number.isInteger(value.pid)) return undefined;
    const entry = { origin: value.origin, pid: value.pid as number, revision };
    return typeof value.host === 'string' ? { ...entry, host: value.host } : entry;
  } catch {
    return undefined;
  }
}
