import { parsedText, setting } from '../../core/setting.js';
import { RING_SETTINGS } from '../../control/ring-settings.js';
import { parseHashKey } from '../../proxy/hash-key.js';

/** Which replica a request goes to: the ring (shared with PUT /ring) and the hash key. */
export const ROUTING_SETTINGS = {
  ...RING_SETTINGS,
  hashKey: setting({
    flag: 'hash-key',
    help: 'what picks the replica: request-id, header:<name>, cookie:<name>, ip, path, uri (path and query, nginx $request_uri), query:<param>',
    value: parsedText(parseHashKey),
    default: 'request-id',
  }),
};
