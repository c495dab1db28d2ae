import { isControlPath, RING_PATH } from '../control/control-paths.js';
import { isOpsPath } from '../ops/ops-http.js';
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

/** Paths the balancer answers itself rather than proxying (the same in every worker). */
export function localPaths(config: Pick<Config, 'metrics'>): (pathname: string) => boolean {
  // Only whether /metrics exists matters to isOpsPath; the dashboard is always there.
  const shape = {
    dashboard: undefined as never,
    ...(config.metrics ? { renderMetrics: async () => '' } : {}),
  };
  return (pathname) => isControlPath(pathname) || pathname === RING_PATH || isOpsPath(pathname, shape);
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
