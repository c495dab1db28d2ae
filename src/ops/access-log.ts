import type { Logger } from 'pino';

/**
 * One line per proxied request. When `--access-log` is off there is no function at all, and the data
 * path's `accessLog?.(...)` is a single undefined check.
 */
export type AccessLog = (
  method: string,
  target: string,
  remoteAddress: string | undefined,
  replica: string,
  status: number,
  seconds: number,
) => void;

export function accessLog(logger: Logger): AccessLog {
  const log = logger.child({ log: 'access' });
  return (method, target, remoteAddress, replica, status, seconds) =>
    log.info(
      { method, path: target, status, replica, ms: Math.round(seconds * 1e6) / 1e3, remote: remoteAddress },
      'request',
    );
}
