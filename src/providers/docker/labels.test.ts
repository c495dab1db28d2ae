import { describe, expect, it } from 'vitest';
import {
  LABEL_CLUSTER,
  LABEL_REPLICA_NAME,
  LABEL_REPLICA_NUMBER,
  replicaLabels,
  specFromLabels,
} from './labels.js';

describe('replica labels', () => {
  it('round-trip a replica through its labels', () => {
    for (const spec of [
      { name: 'Server 1', number: 1 },
      { name: 'S5', number: 5 },
      { name: 'web.eu', number: 56 },
    ]) {
      expect(specFromLabels('blue', replicaLabels('blue', spec))).toEqual(spec);
    }
  });

  it("ignore another cluster's containers", () => {
    expect(specFromLabels('green', replicaLabels('blue', { name: 'S5', number: 5 }))).toBeUndefined();
  });

  it('reject missing or damaged labels', () => {
    const good = replicaLabels('blue', { name: 'S5', number: 5 });
    expect(specFromLabels('blue', null)).toBeUndefined();
    expect(specFromLabels('blue', {})).toBeUndefined();
    expect(specFromLabels('blue', { ...good, [LABEL_REPLICA_NAME]: '' })).toBeUndefined();
    for (const number of ['0', '-1', '1.5', 'x', '', '01', '9999999']) {
      expect(specFromLabels('blue', { ...good, [LABEL_REPLICA_NUMBER]: number })).toBeUndefined();
    }
    const { [LABEL_CLUSTER]: _cluster, ...noCluster } = good;
    expect(specFromLabels('blue', noCluster)).toBeUndefined();
  });
});
