import type { DesiredSet } from '../desired-set.js';

/** Where a replica runs, as the leader recorded it; `revision` tells one run from the next. */
export interface RegistryEntry {
  readonly origin: string;
  readonly pid: number;
  readonly revision: number;
}

/** The desired set as stored: `{"replicas":{"Server 1":1,...}}`. */
export function encodeDesired(set: DesiredSet): string {
  return JSON.stringify({ replicas: Object.fromEntries(set) });
}

/** The stored desired set; anything that is not a name → positive integer map is an error. */
export function decodeDesired(text: string): Map<string, number> {
  const value = JSON.parse(text) as { replicas?: unknown };
  const replicas = value?.replicas;
  if (typeof replicas !== 'object' || replicas === null || Array.isArray(replicas)) {
    throw new Error('stored desired set has no "replicas" object');
  }
  const set = new Map<string, number>();
  const numbers = new Set<number>();
  for (const [name, number] of Object.entries(replicas)) {
    if (!Number.isInteger(number) || (number as number) < 1 || numbers.has(number as number)) {
      throw new Error(`stored desired set: bad or repeated number for "${name}"`);
    }
    numbers.add(number as number);
    set.set(name, number as number);
  }
  return set;
}

/** A registry value, or undefined if it is not one (ignored rather than trusted). */
export function decodeRegistryEntry(text: string, revision: number): RegistryEntry | undefined {
  try {
    const value = JSON.parse(text) as { origin?: unknown; pid?: unknown };
    if (typeof value.origin !== 'string' || !Number.isInteger(value.pid)) return undefined;
    return { origin: value.origin, pid: value.pid as number, revision };
  } catch {
    return undefined;
  }
}
