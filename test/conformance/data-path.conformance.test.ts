import { Agent, get as httpGet, request as httpRequest, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { connect, type ClientHttp2Session } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCertificate, tempDir } from '../certificates.js';
import { balancer } from '../helpers.js';
import { delta, parseMetrics } from '../prometheus-text.js';
import { MisbehavingReplica, type Misbehaviour } from './misbehaving-replica.js';

/**
 * The data path's conformance suite: one table of replica misbehaviours, run for GET, PUT with a
 * body and POST over every client protocol, with the same expected outcome each time (status,
 * retries, and the metrics moving by exactly the requests sent). Like src/ring/conformance.suite.ts
 * for rings, it is what keeps the frontends equal: each only adapts its transport to the one router.
 */

type Method = 'GET' | 'PUT' | 'POST';
/** A status code, or `cut`: the response started and was broken off. */
type Outcome = number | 'cut';

interface Case {
  readonly misbehaviour: Misbehaviour;
  readonly expected: Readonly<Record<Method, { readonly outcome: Outcome; readonly retries: number }>>;
}

const all = (outcome: Outcome, retries: number) => ({
  GET: { outcome, retries },
  PUT: { outcome, retries },
  POST: { outcome, retries },
});

/** The retry table of src/proxy/retry-policy.ts, as outcomes a client sees. */
const CASES: readonly Case[] = [
  // Nothing reached the replica: any method goes to the next one.
  { misbehaviour: 'refuses', expected: all(200, 1) },
  // The replica may have acted on it: only idempotent requests (with a body that fits) go again.
  {
    misbehaviour: 'resets-before-response',
    expected: {
      GET: { outcome: 200, retries: 1 },
      PUT: { outcome: 200, retries: 1 },
      POST: { outcome: 502, retries: 0 },
    },
  },
  // Part of the answer is with the client: it can only be cut off.
  { misbehaviour: 'resets-mid-response', expected: all('cut', 0) },
  {
    misbehaviour: 'stays-silent',
    expected: {
      GET: { outcome: 200, retries: 1 },
      PUT: { outcome: 200, retries: 1 },
      POST: { outcome: 504, retries: 0 },
    },
  },
  // A 5xx is an answer: passed on, not retried (and counted for ejection).
  { misbehaviour: 'answers-5xx', expected: all(503, 0) },
];

type Protocol = 'http1' | 'h2c' | 'h2-tls';
const PROTOCOLS: readonly Protocol[] = ['http1', 'h2c', 'h2-tls'];
/** The `protocol` label each client protocol is counted under. */
const LABEL: Record<Protocol, string> = { http1: 'http1', h2c: 'h2', 'h2-tls': 'h2' };

const BODY = Buffer.alloc(1024, 'b');

/**
 * Cases where a protocol does not yet give the table's outcome, run as expected failures so that
 * fixing one shows up here (the test then fails until it leaves this list). Empty: every protocol
 * gives every outcome.
 */
const KNOWN_DIVERGENCES = new Set<string>([]);

function http1Send(port: number, agent: Agent, method: Method, path: string, key: number): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method, path, agent, headers: { 'x-request-id': String(key) } },
      (res) => {
        res.on('data', () => undefined);
        res.on('end', () => resolve(res.statusCode!));
        res.on('aborted', () => resolve('cut'));
        res.on('error', () => resolve('cut'));
      },
    );
    req.on('error', reject);
    req.end(method === 'GET' ? undefined : BODY);
  });
}

function h2Send(session: ClientHttp2Session, method: Method, path: string, key: number): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': method, ':path': path, 'x-request-id': String(key) });
    let status = 0;
    stream.on('response', (head) => (status = Number(head[':status'])));
    stream.on('data', () => undefined);
    stream.on('end', () => resolve(status));
    stream.on('error', (error) => (status > 0 ? resolve('cut') : reject(error)));
    stream.on('close', () => {
      if (stream.rstCode !== 0 && status > 0) resolve('cut');
    });
    stream.end(method === 'GET' ? undefined : BODY);
  });
}

/** /metrics, over TLS when `ca` is given (the TLS listener speaks nothing else). */
function scrape(port: number, ca?: string): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    const options = { host: '127.0.0.1', port, path: '/metrics', agent: false as const };
    const done = (res: IncomingMessage) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve(parseMetrics(text)));
    };
    const req = ca ? httpsGet({ ...options, ca, servername: 'localhost' }, done) : httpGet(options, done);
    req.on('error', reject);
  });
}

describe('one data path: every protocol gets the same outcome from the same misbehaviour', () => {
  const bad = new MisbehavingReplica('bad');
  const good = new MisbehavingReplica('good');
  const certs = tempDir();
  let plain: Awaited<ReturnType<typeof balancer>>;
  let secure: Awaited<ReturnType<typeof balancer>>;
  let h2c: ClientHttp2Session;
  let h2tls: ClientHttp2Session;
  let ca = '';
  const agent = new Agent({ keepAlive: true });
  /** A key whose first pick is the bad replica. */
  let key = 0;

  beforeAll(async () => {
    await Promise.all([bad.listen(), good.listen()]);
    const cert = makeCertificate(certs.dir, 'lb');
    ca = cert.pem;
    const common = {
      provider: 'static' as const,
      backends: [bad.url, good.url],
      healthPath: '/health',
      upstreamTimeoutMs: 400,
      // Ejection is its own case below: here every case starts from the same ring.
      outlierFailures: 1000,
      retries: 2,
      // Heartbeats would take a refusing replica out of the ring; here it must stay in it, so that
      // the data path meets the misbehaviour (the first heartbeat still runs at start).
      heartbeatIntervalMs: 60_000,
    };
    plain = await balancer({ ...common, h2c: true });
    secure = await balancer({ ...common, tlsCert: cert.cert, tlsKey: cert.key });
    const ring = plain.cluster.table.ring;
    key = [...Array(1000).keys()].find((k) => ring.members[ring.pick(k)]!.name === 'Server 1')!;
    expect(secure.cluster.table.ring.members[secure.cluster.table.ring.pick(key)]!.name).toBe('Server 1');
    h2c = connect(`http://127.0.0.1:${plain.port}`);
    h2c.on('error', () => undefined);
    h2tls = connect(`https://localhost:${secure.port}`, { ca: cert.pem, servername: 'localhost' });
    h2tls.on('error', () => undefined);
  }, 30_000);

  afterAll(async () => {
    h2c?.destroy();
    h2tls?.destroy();
    agent.destroy();
    await Promise.all([plain?.close(), secure?.close()]);
    await Promise.all([bad.close(), good.close()]);
    certs.remove();
  });

  const send = (protocol: Protocol, method: Method, path: string): Promise<Outcome> => {
    if (protocol === 'http1') return http1Send(plain.port, agent, method, path, key);
    return h2Send(protocol === 'h2c' ? h2c : h2tls, method, path, key);
  };

  for (const { misbehaviour, expected } of CASES) {
    for (const protocol of PROTOCOLS) {
      const name = `${misbehaviour} over ${protocol}`;
      (KNOWN_DIVERGENCES.has(name) ? it.fails : it)(name, async () => {
        const metrics = () => (protocol === 'h2-tls' ? scrape(secure.port, ca) : scrape(plain.port));
        await bad.set(misbehaviour);
        try {
          const before = await metrics();
          const outcomes: Record<string, Outcome> = {};
          for (const method of ['GET', 'PUT', 'POST'] as const) {
            outcomes[method] = await send(protocol, method, `/case/${misbehaviour}/${method}`);
          }
          const after = await metrics();
          expect(outcomes).toEqual({
            GET: expected.GET.outcome,
            PUT: expected.PUT.outcome,
            POST: expected.POST.outcome,
          });
          const label = `protocol="${LABEL[protocol]}"`;
          const counted = [...after.keys()]
            .filter((k) => k.startsWith('ringlb_requests_total{') && k.includes(label))
            .reduce((sum, k) => sum + delta(before, after, k), 0);
          expect(counted, 'requests counted').toBe(3);
          const retries = expected.GET.retries + expected.PUT.retries + expected.POST.retries;
          expect(delta(before, after, `ringlb_retries_total{${label}}`), 'retries counted').toBe(retries);
        } finally {
          await bad.set('answers');
        }
      });
    }
  }
});

describe('one data path: a flaky replica is ejected whatever protocol its traffic came in', () => {
  for (const protocol of PROTOCOLS) {
    it(`ejects a replica that resets every other request, over ${protocol}`, async () => {
      const flaky = new MisbehavingReplica('flaky');
      const steady = new MisbehavingReplica('steady');
      const certs = tempDir();
      const cleanups: (() => unknown)[] = [() => certs.remove(), () => flaky.close(), () => steady.close()];
      try {
        await Promise.all([flaky.listen(), steady.listen()]);
        const cert = makeCertificate(certs.dir, 'lb');
        const lb = await balancer({
          provider: 'static',
          backends: [flaky.url, steady.url],
          healthPath: '/health',
          heartbeatIntervalMs: 60_000,
          outlierFailures: 5,
          ...(protocol === 'h2-tls' ? { tlsCert: cert.cert, tlsKey: cert.key } : { h2c: protocol === 'h2c' }),
        });
        cleanups.unshift(() => lb.close());
        const ring = lb.cluster.table.ring;
        const key = [...Array(1000).keys()].find((k) => ring.members[ring.pick(k)]!.name === 'Server 1')!;
        const agent = new Agent({ keepAlive: true });
        cleanups.unshift(() => agent.destroy());
        let session: ClientHttp2Session | undefined;
        if (protocol !== 'http1') {
          session =
            protocol === 'h2c'
              ? connect(`http://127.0.0.1:${lb.port}`)
              : connect(`https://localhost:${lb.port}`, { ca: cert.pem, servername: 'localhost' });
          session.on('error', () => undefined);
          const opened = session;
          cleanups.unshift(() => opened.destroy());
        }
        await flaky.set('resets-every-other');
        const outcomes: Outcome[] = [];
        for (let i = 0; i < 20; i++) {
          outcomes.push(
            session
              ? await h2Send(session, 'GET', `/flaky/${i}`, key)
              : await http1Send(lb.port, agent, 'GET', `/flaky/${i}`, key),
          );
        }
        // Every GET was answered (the resets retried on the other replica), and the flaky one is out.
        expect(outcomes).toEqual(Array(20).fill(200));
        expect(lb.cluster.describe().find((r) => r.name === 'Server 1')?.state).toBe('ejected');
      } finally {
        for (const cleanup of cleanups) await cleanup();
      }
    });
  }
});
