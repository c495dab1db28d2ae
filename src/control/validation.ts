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

/** The largest replica weight: a weight-100 replica owns 100 × the keys of a weight-1 one. */
export const MAX_WEIGHT = 100;

const WEIGHT_RULE = `a weight is a number greater than 0 and at most ${MAX_WEIGHT}`;

/** A replica's weight, as `/add`'s `weights` and `PUT /replicas/<name>` take it. */
export const weight = z
  .number({ error: WEIGHT_RULE })
  .gt(0, { error: WEIGHT_RULE })
  .max(MAX_WEIGHT, { error: WEIGHT_RULE });

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

function bodySchema(name: z.ZodString, extra: z.core.$ZodLooseShape = {}) {
  return z.strictObject(
    {
      n: count.optional(),
      hostnames: z.array(name, { error: "'hostnames' must be a list of strings" }).max(1000).optional(),
      ...extra,
    },
    { error: (issue) => (issue.code === 'invalid_type' ? 'the body must be a JSON object' : undefined) },
  );
}

const addBody = bodySchema(newName, {
  weights: z.record(z.string(), weight, { error: "'weights' must map hostnames to weights" }).optional(),
  backends: backends.optional(),
});
const removeBody = bodySchema(existingName);

export interface MembershipChange {
  readonly n: number;
  readonly hostnames: string[];
  /** `/add` only: weights of named replicas (the others have weight 1). */
  readonly weights?: Readonly<Record<string, number>>;
  /** `/add` only: existing servers to register, one per new replica (static provider). */
  readonly backends?: string[];
}

function formatIssue(issue: z.core.$ZodIssue, fields: string): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}: expected ${fields}`;
  }
  // A weight's own rule says more than "invalid record".
  return issue.path[0] === 'weights' && issue.path.length > 1
    ? `weight of '${String(issue.path[1])}': ${issue.message}`
    : issue.message;
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
  schema: typeof addBody | typeof removeBody,
  body: unknown,
  tooManyNames: string,
): MembershipChange {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const fields = schema === addBody ? "'n', 'hostnames', 'weights' and 'backends'" : "'n' and 'hostnames'";
    throw new RinglbError('ERR_INVALID_BODY', seedMessage(formatIssue(parsed.error.issues[0]!, fields)));
  }
  const data = parsed.data as {
    n?: number;
    hostnames?: string[];
    weights?: Record<string, number>;
    backends?: string[];
  };
  const hostnames = data.hostnames ?? [];
  const n = data.n ?? Math.max(data.backends?.length || 1, hostnames.length);
  if (hostnames.length > n) throw new RinglbError('ERR_HOSTNAMES_EXCEED_N', seedMessage(tooManyNames));
  const duplicate = hostnames.find((name, index) => hostnames.indexOf(name) !== index);
  if (duplicate !== undefined) {
    throw new RinglbError('ERR_DUPLICATE_HOSTNAME', seedMessage(`hostname '${duplicate}' is listed twice`));
  }
  if (data.backends !== undefined) checkBackends(data.backends, n);
  const given = data.backends === undefined ? {} : { backends: data.backends };
  if (data.weights === undefined) return { n, hostnames, ...given };
  const stray = Object.keys(data.weights).find((name) => !hostnames.includes(name));
  if (stray !== undefined) {
    throw new RinglbError(
      'ERR_INVALID_BODY',
      seedMessage(
        `'weights' names '${stray}', which is not in 'hostnames': only named replicas take a weight`,
      ),
    );
  }
  return { n, hostnames, weights: data.weights, ...given };
}

function checkBackends(given: readonly string[], n: number): void {
  if (given.length === 0) throw new RinglbError('ERR_INVALID_BODY', seedMessage("'backends' is empty"));
  if (given.length !== n) {
    throw new RinglbError(
      'ERR_INVALID_BODY',
      seedMessage(`'n' is ${n} but ${given.length} backends are given: one replica per backend`),
    );
  }
}

export function parseAddBody(body: unknown): MembershipChange {
  return validate(addBody, body, 'Length of hostname list is more than newly added instances');
}

const weightBody = z.strictObject(
  { weight },
  { error: (issue) => (issue.code === 'invalid_type' ? 'the body must be a JSON object' : undefined) },
);

/** The body of `PUT /replicas/<name>`: `{"weight": 2}`. */
export function parseWeightBody(body: unknown): number {
  const parsed = weightBody.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const message =
      issue.code === 'invalid_type' && issue.path[0] === 'weight' && issue.input === undefined
        ? `the body needs 'weight': ${WEIGHT_RULE}`
        : formatIssue(issue, "'weight'");
    throw new RinglbError('ERR_INVALID_BODY', seedMessage(message));
  }
  return parsed.data.weight;
}

export function parseRemoveBody(body: unknown): MembershipChange {
  return validate(removeBody, body, 'Length of hostname list is more than removable instances');
}
