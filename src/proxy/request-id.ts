/**
 * The seed's request id: the integer in the `x-request-id` header when it is one, otherwise a random
 * 6-digit id (so requests without an id spread at random, as in the seed).
 */
const INTEGER = /^-?\d{1,16}$/;

export function requestIdFrom(
  header: string | string[] | undefined,
  random: () => number = Math.random,
): number {
  return integerRequestId(header) ?? randomRequestId(random);
}

/** The header's value when it is a safe integer, else undefined. */
export function integerRequestId(header: string | string[] | undefined): number | undefined {
  const value = typeof header === 'string' ? header.trim() : undefined;
  if (value !== undefined && INTEGER.test(value)) {
    const id = Number(value);
    if (Number.isSafeInteger(id)) return id;
  }
  return undefined;
}

/** The seed's random 6-digit id. */
export function randomRequestId(random: () => number = Math.random): number {
  return 100_000 + Math.floor(random() * 900_000);
}
