import { parseArgs } from 'node:util';

export interface SoakOptions {
  readonly quick: boolean;
  /** Length of the load, ms. */
  readonly loadMs: number;
  /** Requests per second of the whole mix. */
  readonly rate: number;
  /** Replicas in the ring at the start (one more backend is kept for /add). */
  readonly replicas: number;
  readonly upstreamTimeoutMs: number;
  readonly membership: 'local' | 'etcd';
  readonly provider: 'static' | 'docker';
  readonly workers: number | undefined;
  /** How the balancer speaks to the soak's replicas: h2c (gRPC included) or HTTP/1.1 (no gRPC). */
  readonly upstream: 'h2c' | 'http1';
  /** --provider docker only: restart the machine's dockerd among the faults (stops every container). */
  readonly restartDockerd: boolean;
}

const USAGE =
  'usage: npm run soak -- [--minutes M (default 10) | --quick (60 s)] [--rate R (default 150)] ' +
  '[--replicas N (default 5)] [--upstream-timeout MS (default 1000)] [--workers N] ' +
  '[--membership local|etcd] [--provider static|docker] [--upstream-protocol h2c|http1 (default h2c)] ' +
  "[--restart-dockerd (with --provider docker: restarts the machine's dockerd, stopping every container on it)]";

export function soakOptions(argv: readonly string[]): SoakOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      minutes: { type: 'string' },
      rate: { type: 'string' },
      replicas: { type: 'string' },
      'upstream-timeout': { type: 'string' },
      workers: { type: 'string' },
      membership: { type: 'string', default: 'local' },
      provider: { type: 'string', default: 'static' },
      'upstream-protocol': { type: 'string', default: 'h2c' },
      'restart-dockerd': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const number = (name: string, raw: string | undefined, fallback: number, min: number, max: number) => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || value > max)
      throw new Error(`--${name} must be a number from ${min} to ${max}, not "${raw}"\n${USAGE}`);
    return value;
  };
  const quick = values.quick ?? false;
  if (quick && values.minutes !== undefined)
    throw new Error(`--quick is 60 s: leave out --minutes\n${USAGE}`);
  const minutes = number('minutes', values.minutes, 10, 1, 24 * 60);
  if (values.membership !== 'local' && values.membership !== 'etcd')
    throw new Error(`--membership must be local or etcd, not "${values.membership}"\n${USAGE}`);
  if (values.provider !== 'static' && values.provider !== 'docker')
    throw new Error(
      `--provider must be static (the soak's own replicas) or docker, not "${values.provider}"\n${USAGE}`,
    );
  const upstream = values['upstream-protocol'];
  if (upstream !== 'h2c' && upstream !== 'http1')
    throw new Error(`--upstream-protocol must be h2c or http1, not "${upstream}"\n${USAGE}`);
  const restartDockerd = values['restart-dockerd'] ?? false;
  if (restartDockerd && values.provider !== 'docker')
    throw new Error(`--restart-dockerd goes with --provider docker\n${USAGE}`);
  if (values.membership === 'etcd' && values.provider === 'docker')
    throw new Error(
      `--membership etcd runs ringlb's own replica processes: leave out --provider docker\n${USAGE}`,
    );
  return {
    quick,
    loadMs: quick ? 60_000 : Math.round(minutes * 60_000),
    rate: number('rate', values.rate, 150, 10, 5000),
    replicas: Math.round(number('replicas', values.replicas, 5, 3, 20)),
    upstreamTimeoutMs: Math.round(number('upstream-timeout', values['upstream-timeout'], 1000, 100, 60_000)),
    membership: values.membership,
    provider: values.provider,
    upstream,
    restartDockerd,
    workers:
      values.workers === undefined ? undefined : Math.round(number('workers', values.workers, 1, 1, 16)),
  };
}
