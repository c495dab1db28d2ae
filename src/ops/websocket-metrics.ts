import type { Metric, Registry } from 'prom-client';
import type { WebSocketCounts } from './websocket-stats.js';

type Value = { labels: Record<string, string>; value: number };

/**
 * The WebSocket metrics, computed from the counts when scraped (the tunnels only add numbers):
 * `ringlb_websockets_open{replica}` and `ringlb_websockets_open_all` (gauges), and
 * `ringlb_websocket_bytes_total{replica,direction}` (counter; `direction` is `to_replica` or
 * `to_client`, the bytes after the upgrade, WebSocket framing included).
 */
export function registerWebSocketMetrics(
  registry: Registry,
  counts: () => ReadonlyMap<string, WebSocketCounts>,
): void {
  const register = (name: string, help: string, type: 'gauge' | 'counter', collect: () => Value[]) => {
    const metric = {
      name,
      help,
      type,
      aggregator: 'sum' as const,
      get: () => ({ name, help, type, aggregator: 'sum', values: collect() }),
    };
    registry.registerMetric(metric as unknown as Metric);
  };
  register('ringlb_websockets_open', 'Open WebSockets by replica.', 'gauge', () =>
    [...counts()].map(([replica, each]) => ({ labels: { replica }, value: each.open })),
  );
  register('ringlb_websockets_open_all', 'Open WebSockets, all replicas together.', 'gauge', () => {
    let open = 0;
    for (const each of counts().values()) open += each.open;
    return [{ labels: {}, value: open }];
  });
  register(
    'ringlb_websocket_bytes_total',
    'Bytes carried by WebSockets after their upgrade, by replica and direction (to_replica, to_client).',
    'counter',
    () =>
      [...counts()].flatMap(([replica, each]) => [
        { labels: { replica, direction: 'to_replica' }, value: each.toReplica },
        { labels: { replica, direction: 'to_client' }, value: each.toClient },
      ]),
  );
}
