import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RinglbError } from '../core/errors.js';
import {
  parseAddBody,
  parseBodyText,
  parseRemoveBody,
  SAFE_NAME,
  type MembershipChange,
} from './validation.js';

/**
 * Property tests over the control API's body parsing: whatever a client sends, the result is a valid
 * change or a RinglbError with a 4xx status, never anything else. A fixed seed keeps CI reproducible;
 * FC_RUNS raises the count for a longer search.
 */
const RUNS = Number(process.env.FC_RUNS ?? 300);
const params = { numRuns: RUNS, seed: 0x5eed };

/** Names a client might send: safe ones, near misses, and hostile ones. */
const hostname = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,8}$/),
  fc.constantFrom(
    'Server 1',
    '',
    '-a',
    'a'.repeat(63),
    'a'.repeat(64),
    'a'.repeat(129),
    '../etc',
    'x\u0000y',
  ),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
);

/** Values for `n`: mostly plausible counts, plus every JSON type and the edges of the range. */
const count = fc.oneof(
  fc.integer({ min: 1, max: 5 }),
  fc.constantFrom(0, -1, 1000, 1001, 1.5, -0, 1e21, '2', null, true, [], {}),
  fc.double(),
  fc.integer(),
);

/** Bodies shaped like the real thing, often valid, with extra keys and wrong types mixed in. */
const shapedBody = fc.record(
  {
    n: count,
    hostnames: fc.oneof(
      fc.array(hostname, { maxLength: 5 }),
      fc.array(fc.constantFrom('S1', 'S2'), { maxLength: 3 }),
      fc.jsonValue({ maxDepth: 1 }),
    ),
    extra: fc.jsonValue({ maxDepth: 1 }),
  },
  { requiredKeys: [] },
);

/** Bodies that are mostly valid, so that the accepting side of the schema is exercised too. */
const plausibleBody = fc.record(
  {
    n: fc.integer({ min: 1, max: 6 }),
    hostnames: fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,8}$/), { maxLength: 4 }),
  },
  { requiredKeys: [] },
);

const anyBody = fc.oneof(fc.jsonValue({ maxDepth: 3 }), shapedBody, plausibleBody);

/** An independent statement of what a valid body is; the schema must agree with it. */
function oracle(body: unknown, validName: (name: string) => boolean): MembershipChange | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const record = body as Record<string, unknown>;
  if (Object.keys(record).some((key) => key !== 'n' && key !== 'hostnames')) return undefined;
  const { n, hostnames } = record;
  if (n !== undefined && !(Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 1000))
    return undefined;
  if (hostnames !== undefined) {
    if (!Array.isArray(hostnames) || hostnames.length > 1000) return undefined;
    if (!hostnames.every((name) => typeof name === 'string' && validName(name))) return undefined;
  }
  const names = (hostnames ?? []) as string[];
  const effective = (n as number | undefined) ?? Math.max(1, names.length);
  if (names.length > effective || new Set(names).size !== names.length) return undefined;
  return { n: effective, hostnames: names };
}

function outcome(parse: () => MembershipChange): MembershipChange | RinglbError {
  try {
    return parse();
  } catch (error) {
    // Anything but a RinglbError with a 4xx status fails the property right here.
    expect(error).toBeInstanceOf(RinglbError);
    const failure = error as RinglbError;
    expect(failure.status).toBeGreaterThanOrEqual(400);
    expect(failure.status).toBeLessThan(500);
    expect(failure.message).toMatch(/^<Error> \S/);
    return failure;
  }
}

const parsers = [
  ['/add', parseAddBody, (name: string) => SAFE_NAME.test(name)],
  ['/rm', parseRemoveBody, (name: string) => name.length >= 1 && name.length <= 128],
] as const;

describe('control API body validation (property-based)', () => {
  for (const [endpoint, parse, validName] of parsers) {
    it(`${endpoint}: any JSON body gives the change an independent check expects, or a 4xx RinglbError`, () => {
      fc.assert(
        fc.property(anyBody, (body) => {
          const result = outcome(() => parse(body));
          const expected = oracle(body, validName);
          if (expected === undefined) {
            expect(result).toBeInstanceOf(RinglbError);
          } else {
            expect(result).toEqual(expected);
          }
        }),
        params,
      );
    });

    it(`${endpoint}: any text, parsed then validated, never throws anything but a 4xx RinglbError`, () => {
      const text = fc.oneof(
        fc.string({ maxLength: 40 }),
        fc.string({ unit: 'binary', maxLength: 40 }),
        anyBody.map((body) => JSON.stringify(body)),
        anyBody.map((body) => JSON.stringify(body).slice(0, -1)),
      );
      fc.assert(
        fc.property(text, (raw) => {
          outcome(() => parse(parseBodyText(raw)));
        }),
        params,
      );
    });
  }

  it('JSON text round-trips through parseBodyText', () => {
    fc.assert(
      fc.property(anyBody, (body) => {
        expect(parseBodyText(JSON.stringify(body))).toEqual(JSON.parse(JSON.stringify(body)));
      }),
      params,
    );
  });
});
