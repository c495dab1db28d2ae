import { connect, type ClientHttp2Session } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balancer, call, waitFor } from '../helpers.js';
import { delta, parseMetrics } from '../prometheus-text.js';
import { frameHead, MisbehavingGrpcReplica } from './misbehaving-grpc-replica.js';
import type { Misbehaviour } from './misbehaving-replica.js';

/**
 * The gRPC column of the data path's conformance suite (data-path.conformance.test.ts has the
 * HTTP/1.1 and HTTP/2 columns): the same replica misbehaviours, met by gRPC unary calls through
 * ringlb to an h2c replica, and the metrics moving by exactly the calls sent. A gRPC call is a POST,
 * but its retry rule is gRPC's own (src/proxy/retry-policy.ts): it goes to another replica only while
 * no response header has arrived and its message can be sent again; its deadline (grpc-timeout) is
 * the call's, not a try's. Where that gives another outcome than a GET's, the table says why.
 */

/** What a client sees: the call's grpc-status, or `reset` when its stream was reset. */
type Outcome = { readonly grpcStatus: number } | 'reset';

interface GrpcCase {
  readonly misbehaviour: Misbehaviour;
  readonly outcome: Outcome;
  readonly retries: number;
  /** Why this differs from an HTTP GET's outcome, if it does. */
  readonly why?: string;
}

const OK = { grpcStatus: 0 };
const UNAVAILABLE = { grpcStatus: 14 };
const DEADLINE_EXCEEDED = { grpcStatus: 4 };

const CASES: readonly GrpcCase[] = [
  // Nothing reached the replica: the call goes to the next one.
  { misbehaviour: 'refuses', outcome: OK, retries: 1 },
  // No response header arrived: gRPC's transparent retry (the message is kept for it).
  { misbehaviour: 'resets-before-response', outcome: OK, retries: 1 },
  {
    misbehaviour: 'resets-mid-response',
    outcome: UNAVAILABLE,
    retries: 0,
    why: 'HTTP cuts the response; a gRPC call has room for its status in trailers, so it ends UNAVAILABLE',
  },
  {
    misbehaviour: 'stays-silent',
    outcome: DEADLINE_EXCEEDED,
    retries: 0,
    why: 'the deadline (grpc-timeout) is the call’s, not a try’s: the replica may be working on it, so no retry',
  },
  // The replica's own UNAVAILABLE is an answer: passed on, not retried.
  { misbehaviour: 'answers-5xx', outcome: UNAVAILABLE, retries: 0 },
];

/** The deadline the calls carry: past the balancer's per-try timeout, so 'stays-silent' meets it. */
const DEADLINE = '600m';
const MESSAGE = Buffer.concat([frameHead(3), Buffer.from('hi!')]);

function grpcCall(session: ClientHttp2Session, path: string, key: number): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-timeout': DEADLINE,
      'x-request-id': String(key),
    });
    let status: number | undefined;
    stream.on('response', (head) => {
      // Trailers-Only: the status comes with the headers.
      if (head['grpc-status'] !== undefined) status = Number(head['grpc-status']);
    });
    stream.on('trailers', (trailers) => (status = Number(trailers['grpc-status'])));
    stream.on('data', () => undefined);
    stream.on('error', () => undefined);
    stream.on('close', () => {
      if (stream.rstCode !== 0) resolve('reset');
      else if (status === undefined) reject(new Error(`no grpc-status for ${path}`));
      else resolve({ grpcStatus: status });
    });
    stream.end(MESSAGE);
  });
}

async function scrape(url: string): Promise<Map<string, number>> {
  const response = await fetch(`${url}/metrics`);
  return parseMetrics(await response.text());
}

function callsCounted(before: Map<string, number>, after: Map<string, number>): number {
  return [...after.keys()]
    .filter((k) => k.startsWith('ringlb_requests_total{') && k.includes('protocol="grpc"'))
    .reduce((sum, k) => sum + delta(before, after, k), 0);
}

/** A key whose first pick is `name`. */
function keyFor(lb: Awaited<ReturnType<typeof balancer>>, name: string): number {
  const ring = lb.cluster.table.ring;
  return [...Array(1000).keys()].find((k) => ring.members[ring.pick(k)]!.name === name)!;
}

describe('one data path, gRPC: unary calls get the same outcome from the same misbehaviour', () => {
  const bad = new MisbehavingGrpcReplica('bad');
  const good = new MisbehavingGrpcReplica('good');
  let lb: Awaited<ReturnType<typeof balancer>>;
  let session: ClientHttp2Session;
  let key = 0;

  beforeAll(async () => {
    await Promise.all([bad.listen(), good.listen()]);
    lb = await balancer({
      provider: 'static',
      backends: [bad.url, good.url],
      healthPath: '/health',
      upstreamTimeoutMs: 400,
      outlierFailures: 1000,
      retries: 2,
      heartbeatIntervalMs: 60_000,
      h2c: true,
    });
    key = keyFor(lb, 'Server 1');
    session = connect(lb.url);
    session.on('error', () => undefined);
  }, 30_000);

  afterAll(async () => {
    session?.destroy();
    await lb?.close();
    await Promise.all([bad.close(), good.close()]);
  });

  for (const { misbehaviour, outcome, retries, why } of CASES) {
    it(`${misbehaviour} over gRPC${why ? ` (${why})` : ''}`, async () => {
      await bad.set(misbehaviour);
      try {
        const before = await scrape(lb.url);
        const got = await grpcCall(session, `/conformance.Echo/${misbehaviour}`, key);
        const after = await scrape(lb.url);
        expect(got).toEqual(outcome);
        expect(callsCounted(before, after), 'calls counted').toBe(1);
        expect(delta(before, after, 'ringlb_retries_total{protocol="grpc"}'), 'retries counted').toBe(
          retries,
        );
      } finally {
        bad.answerHeld();
        await bad.set('answers');
      }
    });
  }

  // A call on its replica's session when the replica leaves the ring is not sent again (gRPC's
  // rule: it may be processed); the session closes by GOAWAY after it, so its answer still arrives.
  // (HTTP/1.1's re-dispatch applies to requests queued for a connection; a gRPC call never queues.)
  for (const how of ['ejected', 'removed'] as const) {
    it(`a call whose replica is ${how} while it waits still gets its replica's answer`, () =>
      withPair({}, async ({ first: held, lb: own, session: client, key }) => {
        await held.set('stays-silent');
        const before = await scrape(own.url);
        const pending = grpcCall(client, '/conformance.Echo/held', key);
        await waitFor('the call to reach its replica', () => (held.held > 0 ? true : undefined));
        if (how === 'ejected') expect(own.cluster.eject('Server 1', 'test')).toBe(true);
        else {
          const removed = await call(`${own.url}/rm`, {
            method: 'POST',
            json: { n: 1, hostnames: ['Server 1'] },
          });
          expect(removed.status).toBe(200);
        }
        await waitFor('the replica to leave the ring', () =>
          own.cluster.table.routes.some((r) => r.name === 'Server 1') ? undefined : true,
        );
        held.answerHeld();
        expect(await pending).toEqual(OK);
        const after = await scrape(own.url);
        expect(callsCounted(before, after), 'calls counted').toBe(1);
        expect(delta(before, after, 'ringlb_retries_total{protocol="grpc"}'), 'retries counted').toBe(0);
      }));
  }
});

interface Pair {
  /** Server 1: `key`'s first pick. */
  readonly first: MisbehavingGrpcReplica;
  readonly second: MisbehavingGrpcReplica;
  readonly lb: Awaited<ReturnType<typeof balancer>>;
  readonly session: ClientHttp2Session;
  readonly key: number;
}

/** Two gRPC replicas behind a balancer of their own, with a client session; all closed after `body`. */
async function withPair(
  overrides: Partial<Parameters<typeof balancer>[0]>,
  body: (pair: Pair) => Promise<void>,
) {
  const first = new MisbehavingGrpcReplica('first');
  const second = new MisbehavingGrpcReplica('second');
  await Promise.all([first.listen(), second.listen()]);
  const lb = await balancer({
    provider: 'static',
    backends: [first.url, second.url],
    healthPath: '/health',
    heartbeatIntervalMs: 60_000,
    h2c: true,
    ...overrides,
  });
  const session = connect(lb.url);
  session.on('error', () => undefined);
  try {
    await body({ first, second, lb, session, key: keyFor(lb, 'Server 1') });
  } finally {
    session.destroy();
    await lb.close();
    await Promise.all([first.close(), second.close()]);
  }
}

const stateOf = (lb: Pair['lb'], name: string) => lb.cluster.describe().find((r) => r.name === name)?.state;

async function calls(pair: Pair, count: number): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (let i = 0; i < count; i++)
    outcomes.push(await grpcCall(pair.session, `/conformance.Echo/${i}`, pair.key));
  return outcomes;
}

describe('one data path, gRPC: a replica whose calls fail is ejected, as one answering 5xx is', () => {
  for (const trailersOnly of [true, false]) {
    it(`ejects a replica that answers every call UNAVAILABLE (${trailersOnly ? 'Trailers-Only' : 'in trailers'})`, () =>
      withPair({ outlierFailures: 5 }, async (pair) => {
        pair.first.trailersOnly = trailersOnly;
        await pair.first.set('answers-5xx');
        // Passed on as they came (not retried) until the fifth; then the other replica answers.
        expect(await calls(pair, 8)).toEqual([...Array(5).fill(UNAVAILABLE), ...Array(3).fill(OK)]);
        expect(stateOf(pair.lb, 'Server 1')).toBe('ejected');
      }));
  }

  it('does not eject a replica whose calls end OK', () =>
    withPair({ outlierFailures: 2 }, async (pair) => {
      expect(await calls(pair, 6)).toEqual(Array(6).fill(OK));
      expect(stateOf(pair.lb, 'Server 1')).toBe('healthy');
    }));

  it('ejects a replica that resets every other call, with every call answered OK', () =>
    withPair({ outlierFailures: 5 }, async (pair) => {
      await pair.first.set('resets-every-other');
      expect(await calls(pair, 20)).toEqual(Array(20).fill(OK));
      expect(stateOf(pair.lb, 'Server 1')).toBe('ejected');
    }));
});
