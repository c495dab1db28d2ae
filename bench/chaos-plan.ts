export type FaultKind = 'SIGKILL' | 'SIGSTOP' | '/rm';

/**
 * The faults in the order they happen: the kills, with the hangs and then the removals spread evenly
 * between them (the hang early, while every replica is still there).
 */
export function faultPlan(kills: number, stops: number, removals: number): FaultKind[] {
  const others: FaultKind[] = [
    ...Array.from({ length: stops }, (): FaultKind => 'SIGSTOP'),
    ...Array.from({ length: removals }, (): FaultKind => '/rm'),
  ];
  // How many kills come before each of the others.
  const killsBefore = others.map((_, j) => Math.round(((j + 1) * kills) / (others.length + 1)));
  const plan: FaultKind[] = [];
  let next = 0;
  for (let k = 0; k <= kills; k++) {
    while (next < others.length && killsBefore[next] === k) plan.push(others[next++]!);
    if (k < kills) plan.push('SIGKILL');
  }
  return plan;
}
