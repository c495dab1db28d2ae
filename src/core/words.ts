/** `1 replica`, `3 replicas`: a count and its noun, in the plural unless the count is one. */
export function counted(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
