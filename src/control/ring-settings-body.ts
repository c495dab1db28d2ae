import { z } from 'zod';
import { RinglbError, seedMessage } from '../core/errors.js';
import { MAGLEV_MAX_TABLE_SIZE } from '../ring/maglev/maglev-ring.js';
import { RING_ALGORITHMS, ringSettingsProblem, type RingSettings } from '../ring/registry.js';

/**
 * The body of `PUT /ring`: any of the ring settings, validated at the edge. Settings not named keep
 * their current value. Every rejection is a 400 in the seed's "<Error> ..." form.
 */
const integer = (name: string, min: number, max: number) =>
  z
    .number({ error: `'${name}' must be an integer from ${min} to ${max}` })
    .int({ error: `'${name}' must be an integer from ${min} to ${max}` })
    .min(min, { error: `'${name}' must be an integer from ${min} to ${max}` })
    .max(max, { error: `'${name}' must be an integer from ${min} to ${max}` });

const ringBody = z.strictObject(
  {
    algorithm: z.enum(RING_ALGORITHMS, {
      error: `'algorithm' must be one of ${RING_ALGORITHMS.join(', ')}`,
    }),
    ringSize: integer('ringSize', 1, 1 << 20),
    vnodes: integer('vnodes', 1, 4096),
    ketamaPoints: integer('ketamaPoints', 1, 10_000),
    maglevTableSize: integer('maglevTableSize', 3, MAGLEV_MAX_TABLE_SIZE),
    balanceFactor: z.number({ error: "'balanceFactor' must be a number: 0 (off) or from 1 to 100" }),
  },
  { error: (issue) => (issue.code === 'invalid_type' ? 'the body must be a JSON object' : undefined) },
);

export const RING_SETTING_NAMES = Object.keys(ringBody.shape);

function invalid(message: string): RinglbError {
  return new RinglbError('ERR_INVALID_BODY', seedMessage(message));
}

/** The settings after applying `body` to `current`; throws a 400 saying what is wrong. */
export function parseRingBody(body: unknown, current: RingSettings): RingSettings {
  const parsed = ringBody.partial().safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      throw invalid(
        `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}: expected any of ${RING_SETTING_NAMES.map((k) => `'${k}'`).join(', ')}`,
      );
    }
    throw invalid(issue.message);
  }
  if (Object.keys(parsed.data).length === 0) {
    throw invalid(
      `the body names no setting: expected any of ${RING_SETTING_NAMES.map((k) => `'${k}'`).join(', ')}`,
    );
  }
  const next: RingSettings = { ...current, ...parsed.data };
  const problem = ringSettingsProblem(next);
  if (problem) throw invalid(problem);
  return next;
}
