import { z } from 'zod';
import { RinglbError, seedMessage } from '../core/errors.js';

/**
 * The control API's request bodies, validated at the edge. Every rejection is a 400 whose message says
 * what is wrong, in the seed's "<Error> ..." form; nothing reaches the cluster unless it passed here.
 */

/** A name that is safe as a host, container and file name: what `/add` accepts. */
export const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

const count = z
  .number({ error: "'n' must be a positive integer" })
  .int({ error: "'n' must be a positive integer" })
  .min(1, { error: "'n' must be a positive integer" })
  .max(1000, { error: "'n' must be at most 1000" });

const newName = z.string({ error: "'hostnames' must be a list of strings" }).regex(SAFE_NAME, {
  error: (issue) =>
    `hostname ${JSON.stringify(issue.input)} is not a safe name: use 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit`,
});

const existingName = z
  .string({ error: "'hostnames' must be a list of strings" })
  .min(1, { error: 'a hostname cannot be empty' })
  .max(128, { error: 'a hostname is at most 128 characters' });

/** A server to register (static provider): its origin, `http://host:port`. */
const backend = z
  .string({ error: "'backends' must be a list of http:// URLs" })
  .max(2048)
  .refine(
    (text) => {
      try {
        const url = new URL(text);
        return (
          url.protocol === 'http:' && url.hostname !== '' && (url.pathname === '/' || url.pathname === '')
        );
      } catch {
        return false;
      }
    },
    { error: (issue) => `backend ${JSON.stringify(issue.input)} is not an http://host:port URL` },
  )
  .transform((text) => new URL(text).origin);

const backends = z.array(backend, { error: "'backends' must be a list of http:// URLs" }).max(1000);

function bodySchema<Extra extends z.core.$ZodLooseShape>(name: z.ZodString, extra: Extra) {
  return z.strictObject(
    {
      n: count.optional(),
      hostnames: z.array(name, { error: "'hostnames' must be a list of strings" }).max(1000).optional(),
      ...extra,
    },
    { error: (issue) => (issue.code === 'invalid_type' ? 'the body must be a JSON object' : undefined) },
  );
}

const addBody = bodySchema(newName, { backends: backends.optional() });
const removeBody = bodySchema(existingName, {});

export interface MembershipChange {
  readonly n: number;
  readonly hostnames: string[];
}

export interface AddChange extends MembershipChange {
  /** Existing servers to register, one per new replica (static provider). */
  readonly backends?: string[];
}

function formatIssue(issue: z.core.$ZodIssue, expected: string): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}: expected ${expected}`;
  }
  return issue.message;
}

/** Parses the raw body text; an empty body means "one replica, no names". */
export function parseBodyText(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new RinglbError('ERR_INVALID_BODY', seedMessage('the body is not valid JSON'));
  }
}

function validate(
  parsed: z.ZodSafeParseResult<{ n?: number | undefined; hostnames?: string[] | undefined }>,
  expected: string,
  tooManyNames: string,
  least = 1,
): MembershipChange {
  if (!parsed.success) {
    throw new RinglbError('ERR_INVALID_BODY', seedMessage(formatIssue(parsed.error.issues[0]!, expected)));
  }
  const hostnames = parsed.data.hostnames ?? [];
  const n = parsed.data.n ?? Math.max(least, hostnames.length);
  if (hostnames.length > n) throw new RinglbError('ERR_HOSTNAMES_EXCEED_N', seedMessage(tooManyNames));
  const duplicate = hostnames.find((name, index) => hostnames.indexOf(name) !== index);
  if (duplicate !== undefined) {
    throw new RinglbError('ERR_DUPLICATE_HOSTNAME', seedMessage(`hostname '${duplicate}' is listed twice`));
  }
  return { n, hostnames };
}

export function parseAddBody(body: unknown): AddChange {
  const parsed = addBody.safeParse(body);
  const given = parsed.success ? parsed.data.backends : undefined;
  const change = validate(
    parsed,
    "'n', 'hostnames' and 'backends'",
    'Length of hostname list is more than newly added instances',
    given?.length || 1,
  );
  if (given === undefined) return change;
  if (given.length === 0) throw new RinglbError('ERR_INVALID_BODY', seedMessage("'backends' is empty"));
  if (given.length !== change.n) {
    throw new RinglbError(
      'ERR_INVALID_BODY',
      seedMessage(`'n' is ${change.n} but ${given.length} backends are given: one replica per backend`),
    );
  }
  return { ...change, backends: given };
}

export function parseRemoveBody(body: unknown): MembershipChange {
  return validate(
    removeBody.safeParse(body),
    "'n' and 'hostnames'",
    'Length of hostname list is more than removable instances',
  );
}
