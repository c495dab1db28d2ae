import { isIP } from 'node:net';
import { parsedText, setting, shown } from '../../core/setting.js';

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/**
 * An address other machines can reach: an IP address or a host name, not a wildcard (a replica
 * listening on 0.0.0.0 is reached at no address in particular).
 */
export function checkAdvertiseHost(host: string): void {
  if (host === '0.0.0.0' || host === '::') {
    throw new Error(
      `${shown(host)} listens on every address but names none that others can reach: give this host's address`,
    );
  }
  if (isIP(host) === 0 && !HOST_NAME.test(host)) {
    throw new Error(`expected an IP address (without brackets) or a host name, got ${shown(host)}`);
  }
}

/** How this instance is reached from other hosts (balancers on several machines). */
export const HOST_SETTINGS = {
  advertiseHost: setting({
    flag: 'advertise-host',
    help: "address at which other hosts reach this instance's replicas; the replicas it starts listen on it (and Docker publishes their ports on it)",
    value: parsedText(checkAdvertiseHost),
    default: '127.0.0.1',
    defaultText: '127.0.0.1: this host only',
  }),
};
