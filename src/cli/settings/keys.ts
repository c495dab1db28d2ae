import { setting, wholeNumber, yesNo } from '../../core/setting.js';

/** How keys move when the ring changes, and what the balancer tells replicas and operators about it. */
export const KEY_SETTINGS = {
  slowStart: setting({
    flag: 'slow-start',
    help: 'seconds over which a replica that joins, is replaced or returns from ejection ramps from a small weight to its own, a step at most every second (ketama, maglev, rendezvous)',
    value: wholeNumber(0, 3_600),
    default: 0,
    defaultText: '0 = off',
  }),
  handoffWindow: setting({
    flag: 'handoff-window',
    help: 'seconds after a ring change during which a request whose key changed owner carries x-ringlb-previous-owner: <name> <origin> to its new owner',
    value: wholeNumber(0, 3_600),
    default: 0,
    defaultText: '0 = off',
  }),
  ownersHeader: setting({
    flag: 'owners-header',
    help: "adds x-ringlb-owners to each proxied request: the key's first K distinct replicas in the ring's order, owner first",
    value: wholeNumber(0, 64),
    default: 0,
    defaultText: '0 = off',
  }),
  hotKeys: setting({
    flag: 'hot-keys',
    help: 'keep a fixed-memory top-K of hash keys per process, merged in GET /keys/hot, ringlb_hot_key_share and the dashboard',
    value: yesNo(),
    default: true,
  }),
};
