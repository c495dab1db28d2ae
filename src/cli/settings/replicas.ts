import { oneOf, optionalSetting, setting, text, wholeNumber } from '../../core/setting.js';

/** What runs the replicas, how many, and how their health is judged. */
export const REPLICA_SETTINGS = {
  provider: setting({
    flag: 'provider',
    help: 'where replicas run: process (local child processes), docker (containers), static (--backends) or swarm (the tasks of a Swarm service)',
    value: oneOf(['process', 'docker', 'static', 'swarm']),
    default: 'process',
  }),
  replicas: optionalSetting({
    flag: 'replicas',
    help: 'replicas to start with',
    value: wholeNumber(0, 1000),
    unsetText: '3, or every backend of the static provider; with swarm the service has its own count',
  }),
  clusterName: setting({
    flag: 'cluster-name',
    help: 'labels replica containers and names the etcd prefix; a balancer adopts the running replicas of its cluster',
    value: text(
      '1 to 31 lowercase letters, digits, ".", "_" or "-", starting with a letter or digit',
      /^[a-z0-9][a-z0-9_.-]{0,30}$/,
    ),
    default: 'ringlb',
  }),
  healthPath: setting({
    flag: 'health-path',
    help: 'path of the heartbeat request',
    value: text('a path starting with /', /^\/[^\s?#]*$/),
    default: '/heartbeat',
  }),
  heartbeatIntervalMs: setting({
    flag: 'heartbeat-interval',
    help: 'ms between heartbeats to each replica',
    value: wholeNumber(50, 60_000),
    default: 500,
  }),
  heartbeatTimeoutMs: setting({
    flag: 'heartbeat-timeout',
    help: 'ms a heartbeat may take',
    value: wholeNumber(50, 60_000),
    default: 500,
  }),
  heartbeatThreshold: setting({
    flag: 'heartbeat-threshold',
    help: 'failed heartbeats in a row that take a replica out',
    value: wholeNumber(1, 100),
    default: 2,
  }),
  heartbeatRise: setting({
    flag: 'heartbeat-rise',
    help: 'good heartbeats in a row that bring an ejected replica back',
    value: wholeNumber(1, 100),
    default: 2,
  }),
  retries: setting({
    flag: 'retries',
    help: 'further replicas an unreachable idempotent request is tried on',
    value: wholeNumber(0, 10),
    default: 2,
  }),
  outlierFailures: setting({
    flag: 'outlier-failures',
    help: 'failed requests (connection errors, resets, timeouts, 5xx) that eject a replica: N in a row, or N of its last 2N',
    value: wholeNumber(1, 1000),
    default: 5,
  }),
  maxEjectionPercent: setting({
    flag: 'max-ejection-percent',
    help: 'most replicas, in percent, that passive health may eject at once',
    value: wholeNumber(0, 100),
    default: 50,
  }),
  drainTimeoutMs: setting({
    flag: 'drain-timeout',
    help: 'ms that requests in flight get to finish on /rm and on shutdown',
    value: wholeNumber(0, 600_000),
    default: 10_000,
  }),
  upstreamTimeoutMs: setting({
    flag: 'upstream-timeout',
    help: 'ms a replica may stay silent while a request waits, per try',
    value: wholeNumber(100, 3_600_000),
    default: 30_000,
  }),
  upstreamProtocol: setting({
    flag: 'upstream-protocol',
    help: 'how replicas are spoken to: http1 or h2c (an h2c:// backend is h2c anyway)',
    value: oneOf(['http1', 'h2c']),
    default: 'http1',
  }),
};
