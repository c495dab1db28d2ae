/** The lowest replica number (from 1) that no current replica holds. */
export function lowestFreeNumber(used: ReadonlySet<number>): number {
  let number = 1;
  while (used.has(number)) number++;
  return number;
}

/** The name a replica gets when the user gave none. */
export function defaultReplicaName(number: number): string {
  return `Server ${number}`;
}
