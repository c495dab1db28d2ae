import type { ReplicaSpec } from '../provider.js';

/**
 * Labels that make a container recognisably ours: which balancer cluster it belongs to and which
 * replica (name and number) it is. A balancer that restarts finds its replicas by these, not by
 * container names, which users may have chosen.
 */
export const LABEL_CLUSTER = 'io.ringlb.cluster';
export const LABEL_REPLICA_NAME = 'io.ringlb.replica.name';
export const LABEL_REPLICA_NUMBER = 'io.ringlb.replica.number';

export function replicaLabels(cluster: string, spec: ReplicaSpec): Record<string, string> {
  return {
    [LABEL_CLUSTER]: cluster,
    [LABEL_REPLICA_NAME]: spec.name,
    [LABEL_REPLICA_NUMBER]: String(spec.number),
  };
}

/** The replica a container of `cluster` is, or undefined when its labels are not ours or are damaged. */
export function specFromLabels(
  cluster: string,
  labels: Readonly<Record<string, string>> | null | undefined,
): ReplicaSpec | undefined {
  if (!labels || labels[LABEL_CLUSTER] !== cluster) return undefined;
  const name = labels[LABEL_REPLICA_NAME];
  const numberText = labels[LABEL_REPLICA_NUMBER];
  if (!name || numberText === undefined || !/^[1-9]\d{0,5}$/.test(numberText)) return undefined;
  return { name, number: Number(numberText) };
}
