import type { IncomingMessage, ServerResponse } from 'node:http';
import { RinglbError, seedMessage } from '../core/errors.js';
import { sendFailure, sendJson } from '../core/json-response.js';
import type { ChangePreview, Cluster } from '../membership/cluster.js';
import type { Ring } from '../ring/ring.js';
import { RING_PATH } from './control-paths.js';
import { parseControlQuery } from './control-query.js';
import { previewReply, takePreviewKeys, type KeyOfText } from './preview.js';
import { SerialQueue } from '../membership/serial-queue.js';
import { ringFactory, type RingSettings } from '../ring/registry.js';
import { readBody } from './read-body.js';
import { parseRingBody } from './ring-settings-body.js';
import { parseBodyText } from './validation.js';

/** `GET /ring` shows the ring; `PUT /ring` with a JSON body of settings switches it live. */
const ALLOWED = ['GET', 'HEAD', 'PUT'];

/** The ring settings in force, and the one way to change them (serialised, validated, measured). */
export class RingControl {
  readonly #cluster: Cluster;
  readonly #queue = new SerialQueue();
  #settings: RingSettings;

  constructor(cluster: Cluster, settings: RingSettings) {
    this.#cluster = cluster;
    this.#settings = settings;
  }

  get settings(): RingSettings {
    return this.#settings;
  }

  /** Applies a `PUT /ring` body; resolves with the fraction of the key space that moved. */
  apply(body: unknown): Promise<number> {
    return this.#queue.run(async () => {
      const next = parseRingBody(body, this.#settings);
      const moved = await this.#cluster.useRing(ringFactory(next));
      this.#settings = next;
      return moved;
    });
  }

  /** What `apply` would do with `body`; changes nothing. */
  preview(body: unknown): Promise<{ preview: ChangePreview; settings: RingSettings }> {
    return this.#queue.run(async () => {
      const settings = parseRingBody(body, this.#settings);
      return { preview: await this.#cluster.previewRing(ringFactory(settings)), settings };
    });
  }

  /** What `GET /ring` answers: algorithm, settings and each replica's share of the key space. */
  describe(given?: { settings: RingSettings; ring: Ring }) {
    const { algorithm, ...settings } = given?.settings ?? this.#settings;
    const ring = given?.ring ?? this.#cluster.table.ring;
    const shares = ring.shares();
    return {
      algorithm,
      settings,
      replicas: ring.members.map((m, i) => {
        // Slow start: the ring holds a ramped weight; the replica's own is the one it ramps to.
        const warming = this.#cluster.warming(m.name);
        return {
          name: m.name,
          number: m.number,
          weight: warming === undefined ? (m.weight ?? 1) : (this.#cluster.weightOf(m.name) ?? 1),
          ...(warming === undefined ? {} : { warming }),
          share: shares[i],
        };
      }),
    };
  }
}

export async function handleRing(
  req: IncomingMessage,
  res: ServerResponse,
  control: RingControl,
  keyOfText: KeyOfText,
): Promise<void> {
  const method = req.method ?? 'GET';
  try {
    const query = parseControlQuery(req.url ?? '/', method === 'PUT' ? ['dry_run'] : []);
    if (!ALLOWED.includes(method)) {
      req.resume();
      throw new RinglbError(
        'ERR_METHOD_NOT_ALLOWED',
        seedMessage(`method ${method} is not allowed on ${RING_PATH}; use GET or PUT`),
        405,
      );
    }
    if (method !== 'PUT') {
      req.resume();
      sendJson(res, 200, { message: control.describe(), status: 'successful' });
      return;
    }
    const text = await readBody(req);
    if (query.dryRun) {
      const { body, keys } = takePreviewKeys(parseBodyText(text), keyOfText);
      const { preview, settings } = await control.preview(body);
      const message = control.describe({ settings, ring: preview.after });
      sendJson(res, 200, previewReply(preview, keys, message));
      return;
    }
    const moved = await control.apply(parseBodyText(text));
    sendJson(res, 200, { message: control.describe(), status: 'successful', moved });
  } catch (error) {
    sendFailure(
      res,
      error,
      error instanceof RinglbError && error.status === 405 ? { allow: ALLOWED.join(', ') } : {},
    );
  }
}
