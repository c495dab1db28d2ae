import { CONTROL_ROUTES, REPLICA_PREFIX, RING_PATH } from '../control/control-paths.js';
import { opsPaths } from '../ops/ops-http.js';
import type { EdgeLimits } from '../proxy/data-plane.js';
import { ringFactory, ringSettingsOf, type RingFactory } from '../ring/registry.js';
import type { Config } from './config.js';

/*
 * What the data plane takes from the settings, in every process that proxies (the single process,
 * each `--workers` process): apart from balancer.ts, so that a worker loads none of the control plane.
 */

/** The ring algorithm the settings ask for, and how many replicas it can hold. */
export function ringFromConfig(config: Config): RingFactory {
  return ringFactory(ringSettingsOf(config));
}

/**
 * Paths the balancer answers itself rather than proxying (the same in every worker). Asked once per
 * proxied request, so the exact paths are one set: one lookup instead of a walk over each family.
 */
export function localPaths(config: Pick<Config, 'metrics'>): (pathname: string) => boolean {
  const exact = new Set([...Object.keys(CONTROL_ROUTES), RING_PATH, ...opsPaths(config.metrics)]);
  return (pathname) => exact.has(pathname) || pathname.startsWith(REPLICA_PREFIX);
}

/** The edge's limits, from the settings. */
export function edgeLimitsFromConfig(config: Config): EdgeLimits {
  return {
    maxHeaderSize: config.maxHeaderSize,
    maxBodySize: config.maxBodySize,
    headersTimeoutMs: config.headersTimeoutMs,
    keepAliveTimeoutMs: config.keepAliveTimeoutMs,
    maxConnections: config.maxConnections,
    trustForwarded: config.trustForwarded,
  };
}
