import type { RoutingTable } from '../membership/routing-table.js';
import { HotKeys } from '../ops/hot-keys.js';
import { parseHashKey } from '../proxy/hash-key.js';
import type { Config } from './config.js';

/**
 * The primary's (or the single process's) merge of every process's hot keys; undefined when off.
 * Apart from key-features.ts, whose recorder every proxying process loads: this one brings
 * prom-client, which a `--workers` process does without.
 */
export function hotKeysOf(config: Config, table: () => RoutingTable): HotKeys | undefined {
  return config.hotKeys ? new HotKeys(table, parseHashKey(config.hashKey).kind !== 'request-id') : undefined;
}
