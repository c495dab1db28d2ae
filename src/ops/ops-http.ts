import type { IncomingMessage, ServerResponse } from 'node:http';
import { RinglbError, seedMessage } from '../core/errors.js';
import { sendFailure, sendJson } from '../core/json-response.js';
import type { Dashboard } from './dashboard.js';
import type { HotKeys } from './hot-keys.js';
import { DASHBOARD_JS } from './dashboard/client.js';
import { DASHBOARD_HTML } from './dashboard/page.js';
import { DASHBOARD_CSS } from './dashboard/style.js';

export interface OpsEndpoints {
  /** The Prometheus text for `GET /metrics`; absent when metrics are off. */
  readonly renderMetrics?: () => Promise<string>;
  readonly metricsContentType?: string;
  readonly dashboard: Dashboard;
  /** `GET /keys/hot`; absent when `--hot-keys` is off. */
  readonly hotKeys?: HotKeys | undefined;
}

/** The hottest keys of the last 2 s, in the seed's envelope. */
export const HOT_KEYS_PATH = '/keys/hot';

const ASSETS: Record<string, { type: string; body: string; csp?: string }> = {
  // The page may load nothing from anywhere but this balancer.
  '/dashboard': {
    type: 'text/html; charset=utf-8',
    body: DASHBOARD_HTML,
    csp: "default-src 'self'; img-src 'self' data:",
  },
  '/dashboard/app.js': { type: 'text/javascript; charset=utf-8', body: DASHBOARD_JS },
  '/dashboard/style.css': { type: 'text/css; charset=utf-8', body: DASHBOARD_CSS },
};

const OPS_PATHS_WITHOUT_METRICS: readonly string[] = [
  ...Object.keys(ASSETS),
  '/events',
  '/dashboard/state',
  HOT_KEYS_PATH,
];
const OPS_PATHS: readonly string[] = [...OPS_PATHS_WITHOUT_METRICS, '/metrics'];

/** Paths the balancer answers itself for operators; they are never proxied or counted as traffic. */
export function opsPaths(metrics: boolean): readonly string[] {
  return metrics ? OPS_PATHS : OPS_PATHS_WITHOUT_METRICS;
}

export function isOpsPath(pathname: string, endpoints: OpsEndpoints): boolean {
  return opsPaths(endpoints.renderMetrics !== undefined).includes(pathname);
}

/** Serves `/metrics`, `/dashboard` and its assets, `/dashboard/state` (JSON) and `/events` (SSE). */
export async function handleOps(
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  endpoints: OpsEndpoints,
): Promise<void> {
  req.resume();
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendFailure(
      res,
      new RinglbError(
        'ERR_METHOD_NOT_ALLOWED',
        seedMessage(`method ${req.method} is not allowed on ${pathname}; use GET`),
        405,
      ),
      { allow: 'GET, HEAD' },
    );
    return;
  }
  if (pathname === '/metrics') {
    const text = await endpoints.renderMetrics!();
    send(res, endpoints.metricsContentType ?? 'text/plain; version=0.0.4; charset=utf-8', text);
    return;
  }
  if (pathname === '/events') {
    endpoints.dashboard.openStream(res);
    return;
  }
  if (pathname === HOT_KEYS_PATH) {
    if (!endpoints.hotKeys) {
      const off = seedMessage('hot keys are not kept: the balancer runs with --hot-keys false');
      sendFailure(res, new RinglbError('ERR_ENDPOINT_NOT_FOUND', off, 404));
      return;
    }
    sendJson(res, 200, { message: { keys: endpoints.hotKeys.top(20) }, status: 'successful' });
    return;
  }
  if (pathname === '/dashboard/state') {
    sendJson(res, 200, endpoints.dashboard.snapshot());
    return;
  }
  const asset = ASSETS[pathname]!;
  send(res, asset.type, asset.body, asset.csp ? { 'content-security-policy': asset.csp } : {});
}

function send(res: ServerResponse, type: string, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(200, {
    ...extra,
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-cache',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
