import type { RoutingTable } from '../membership/routing-table.js';
import { HotKeyRecorder, type HotKeysReport } from '../ops/hot-keys-recorder.js';
import type { Telemetry } from '../ops/telemetry.js';
import { hashKeyExtractor, keyTextReader, parseHashKey } from '../proxy/hash-key.js';
import { hintHeaders, RingHistory } from '../proxy/key-hints.js';
import type { RequestView } from '../proxy/request-view.js';
import type { RouterOptions } from '../proxy/router.js';
import type { Config } from './config.js';

/**
 * What each process's data path does with a request's key besides routing it: it offers the key to
 * the hot-keys sketch (`--hot-keys`), and it adds hand-off hints for the replica the request goes to
 * (`--handoff-window`, `--owners-header`), from the ring the last changes replaced.
 */
export interface KeyFeatures {
  /** The request's ring key (`--hash-key`), recorded for hot keys on the way. */
  readonly keyOf: (view: RequestView) => number;
  /** The hint headers for a try, when hints are on. */
  readonly hints: RouterOptions['hints'];
  /** The routing table changed: the one it replaced opens the hand-off window. */
  tableReplaced(replaced: RoutingTable): void;
  close(): void;
}

/** Whether the settings ask for any hint header. */
export function hintsOn(config: Pick<Config, 'handoffWindow' | 'ownersHeader'>): boolean {
  return config.handoffWindow > 0 || config.ownersHeader > 0;
}

/** `sendHotKeys` receives this process's hot-keys summaries (to merge here, or to relay). */
export function keyFeatures(
  config: Config,
  telemetry: Telemetry,
  sendHotKeys: (report: HotKeysReport) => void,
): KeyFeatures {
  const spec = parseHashKey(config.hashKey);
  const extract = hashKeyExtractor(spec, { onFallback: () => telemetry.hashKeyFallback() });
  // A request id's text is its number; other keys are known by the text the request carried.
  const recorder = config.hotKeys
    ? new HotKeyRecorder<RequestView>(
        sendHotKeys,
        spec.kind === 'request-id' ? undefined : keyTextReader(spec),
      )
    : undefined;
  const keyOf = recorder
    ? (view: RequestView) => {
        const key = extract(view);
        recorder.record(key, view);
        return key;
      }
    : extract;
  const history = new RingHistory(config.handoffWindow * 1000);
  const owners = config.ownersHeader;
  return {
    keyOf,
    hints: hintsOn(config)
      ? (key, table, index) => hintHeaders(key, index, table, history.previous, owners)
      : undefined,
    tableReplaced: (replaced) => history.changed(replaced),
    close() {
      recorder?.close();
      history.close();
    },
  };
}
