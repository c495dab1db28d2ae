import { z } from 'zod';
import { RinglbError, seedMessage } from '../core/errors.js';
import type { ChangePreview } from '../membership/cluster.js';
import { diffRings, type NamedKey } from '../ring/ring-diff.js';

/**
 * `?dry_run=true`: the body may name hash keys (`"keys":[...]`, as `--hash-key` reads them) whose
 * owners before and after the change the preview reports. Turns a key's text into its ring key, or
 * undefined when no request could carry it.
 */
export type KeyOfText = (text: string) => number | undefined;

const keyList = z
  .array(
    z
      .string({ error: "'keys' must be a list of strings" })
      .max(1024, { error: 'a key is at most 1024 characters' }),
    {
      error: "'keys' must be a list of strings",
    },
  )
  .max(1000, { error: "'keys' lists at most 1000 keys" });

/** Splits a dry run's body into the change's own body and the keys to report on. */
export function takePreviewKeys(body: unknown, keyOf: KeyOfText): { body: unknown; keys: NamedKey[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !Object.hasOwn(body, 'keys')) {
    return { body, keys: [] };
  }
  const { keys: given, ...rest } = body as { keys: unknown };
  const parsed = keyList.safeParse(given);
  if (!parsed.success)
    throw new RinglbError('ERR_INVALID_BODY', seedMessage(parsed.error.issues[0]!.message));
  const keys = parsed.data.map((text) => {
    const hash = keyOf(text);
    if (hash === undefined) {
      throw new RinglbError(
        'ERR_INVALID_BODY',
        seedMessage(
          `key ${JSON.stringify(text)} is not one a request could carry with this --hash-key (a request id is an integer)`,
        ),
      );
    }
    return { text, hash };
  });
  return { body: rest, keys };
}

/**
 * The dry run's answer: the real reply's fields (`message`, `status`, `moved`) as the change would
 * leave them, plus `dryRun`, each replica's share before and after, and the named keys' owners.
 */
export function previewReply(preview: ChangePreview, keys: readonly NamedKey[], message?: unknown) {
  const diff = diffRings(preview.before, preview.after, keys);
  return {
    message: message ?? { N: preview.names.length, replicas: preview.names },
    status: 'successful',
    moved: diff.moved,
    dryRun: true,
    ...(preview.added ? { added: preview.added } : {}),
    ...(preview.removed ? { removed: preview.removed } : {}),
    shares: diff.shares,
    ...(keys.length > 0 ? { owners: diff.owners } : {}),
  };
}
