/**
 * The seed's request id: the integer in the `x-request-id` header when it is one, otherwise a random
 * 6-digit id (so requests without an id spread at random, as in the seed).
 */
const INTEGER = /^-?\d{1,16}$/;

export function requestIdFrom(
  header: string | string[] | undefined,
  random: () => number = Math.random,
): number {
  const value = typeof header === 'string' ? header.trim() : undefined;
  if (value !== undefined && INTEGER.test(value)) {
    const id = Number(value);
    if (Number.isSafeInteger(id)) return id;
  }
  return 100_000 + Math.floor(random() * 900_000);
}
