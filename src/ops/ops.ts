import type { Logger } from 'pino';
import { accessLog, type AccessLog } from './access-log.js';
import { Dashboard } from './dashboard.js';
import { fanOut } from './fan-out.js';
import { HealthChecks } from './health-checks.js';
import { registerHotKeyMetrics, type HotKeys } from './hot-keys.js';
import { Metrics, type MembershipView } from './metrics.js';
import type { OpsEndpoints } from './ops-http.js';
import type { Telemetry } from './telemetry.js';
import { transitionLog } from './transition-log.js';
import { registerWebSocketMetrics } from './websocket-metrics.js';
import { WebSocketTotals } from './websocket-stats.js';

export interface OpsOptions {
  readonly metrics: boolean;
  readonly accessLog: boolean;
  readonly logger: Logger;
  /** Read lazily (at scrape and tick time), so it may be created after this. */
  readonly membership: MembershipView;
  /** The hottest keys of every process (`--hot-keys`); absent when off. */
  readonly hotKeys?: HotKeys | undefined;
}

/** Everything operators see, wired together: metrics, dashboard, transition logs, access log. */
export interface Ops {
  /** Give this to the cluster and the data path. */
  readonly telemetry: Telemetry;
  readonly metrics: Metrics | undefined;
  readonly checks: HealthChecks;
  readonly endpoints: OpsEndpoints;
  /** Undefined when `--access-log` is off. */
  readonly accessLog: AccessLog | undefined;
  /** Open WebSockets and their bytes, of this process's data plane or of every worker's. */
  readonly webSockets: WebSocketTotals;
  close(): void;
}

export function createOps(options: OpsOptions): Ops {
  const metrics = options.metrics ? new Metrics(options.membership) : undefined;
  const { hotKeys } = options;
  if (metrics && hotKeys) registerHotKeyMetrics(metrics.registry, hotKeys);
  const checks = new HealthChecks();
  const webSockets = new WebSocketTotals();
  if (metrics) registerWebSocketMetrics(metrics.registry, () => webSockets.sum());
  const dashboard = new Dashboard({
    membership: options.membership,
    requests: metrics?.requests,
    checks,
    hotKeys,
  });
  const sinks = [dashboard, transitionLog(options.logger), ...(metrics ? [metrics] : [])];
  return {
    telemetry: fanOut(sinks),
    metrics,
    checks,
    endpoints: metrics
      ? {
          dashboard,
          hotKeys,
          renderMetrics: () => metrics.render(),
          metricsContentType: metrics.contentType,
        }
      : { dashboard, hotKeys },
    accessLog: options.accessLog ? accessLog(options.logger) : undefined,
    webSockets,
    close: () => dashboard.close(),
  };
}
