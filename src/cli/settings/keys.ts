import { setting, wholeNumber } from '../../core/setting.js';

/** How keys move when the ring changes, and what the balancer tells replicas and operators about it. */
export const KEY_SETTINGS = {
  slowStart: setting({
    flag: 'slow-start',
    help: 'seconds over which a replica that joins, is replaced or returns from ejection ramps from a small weight to its own, a step at most every second (ketama, maglev, rendezvous)',
    value: wholeNumber(0, 3_600),
    default: 0,
    defaultText: '0 = off',
  }),
};
