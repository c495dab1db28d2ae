import { z } from 'zod';
import { listOf, oneOf, setting, shown, wholeNumber } from '../../core/setting.js';

const endpoint = {
  kind: 'string' as const,
  rule: z.url({ protocol: /^https?$/, error: (issue) => `expected http:// URLs, got ${shown(issue.input)}` }),
};

/** Shared membership (--membership etcd): several balancers share one ring through etcd. */
export const ETCD_SETTINGS = {
  membership: setting({
    flag: 'membership',
    help: 'local (this process alone) or etcd (several balancers share one ring through etcd)',
    value: oneOf(['local', 'etcd']),
    default: 'local',
  }),
  etcdEndpoints: setting({
    flag: 'etcd-endpoints',
    help: 'comma-separated etcd client URLs, for --membership etcd (the key prefix is --cluster-name)',
    value: listOf(endpoint),
    default: [],
    defaultText: 'none',
  }),
  etcdLeaseTtl: setting({
    flag: 'etcd-lease-ttl',
    help: 'seconds the cluster may go without a leader after the leader dies',
    value: wholeNumber(2, 60),
    default: 3,
  }),
};
