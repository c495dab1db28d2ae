import { z } from 'zod';
import { RinglbError, seedMessage } from '../core/errors.js';
import { ringSettingsProblem, type RingSettings } from '../ring/registry.js';
import {
  RING_FIELD,
  RING_SETTINGS,
  unusedRingSettingMessage,
  unusedRingSettings,
  type RingSettingKey,
} from './ring-settings.js';

/**
 * The body of `PUT /ring`: any of the ring settings, each checked by the rule start-up uses
 * (./ring-settings.ts). Settings not named keep their current value; a setting the chosen algorithm
 * does not use cannot be changed. Every rejection is a 400 in the seed's "<Error> ..." form.
 */
const KEYS = Object.keys(RING_FIELD) as RingSettingKey[];
export const RING_SETTING_NAMES: readonly string[] = KEYS.map((key) => RING_FIELD[key]);

const ringBody = z.strictObject(
  Object.fromEntries(KEYS.map((key) => [RING_FIELD[key], RING_SETTINGS[key].given.optional()])),
  { error: (issue) => (issue.code === 'invalid_type' ? 'the body must be a JSON object' : undefined) },
);

const quoted = (names: readonly string[]) => names.map((k) => `'${k}'`).join(', ');

function invalid(message: string): RinglbError {
  return new RinglbError('ERR_INVALID_BODY', seedMessage(message));
}

/** The settings after applying `body` to `current`; throws a 400 saying what is wrong. */
export function parseRingBody(body: unknown, current: RingSettings): RingSettings {
  const parsed = ringBody.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      throw invalid(
        `unknown field${issue.keys.length > 1 ? 's' : ''} ${quoted(issue.keys)}: expected any of ${quoted(RING_SETTING_NAMES)}`,
      );
    }
    throw invalid(issue.path.length > 0 ? `'${issue.path.join('.')}': ${issue.message}` : issue.message);
  }
  const given = Object.fromEntries(Object.entries(parsed.data).filter(([, value]) => value !== undefined));
  if (Object.keys(given).length === 0) {
    throw invalid(`the body names no setting: expected any of ${quoted(RING_SETTING_NAMES)}`);
  }
  const next: RingSettings = { ...current, ...given };
  const [unused] = unusedRingSettings(next, current);
  if (unused) {
    const message = unusedRingSettingMessage(
      unused,
      next.algorithm,
      (algorithm) => `send "algorithm":"${algorithm}" with it`,
    );
    throw invalid(`'${RING_FIELD[unused.key]}': ${message}`);
  }
  const problem = ringSettingsProblem(next);
  if (problem) throw invalid(problem);
  return next;
}
