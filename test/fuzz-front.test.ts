import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, waitFor } from './helpers.js';
import { running, startCli, type Started } from './cli-process.js';
import { fuzzCase, type FuzzCase } from './fuzz/request-mutations.js';
import { readStrictly } from './fuzz/request-stream.js';
import { deliver, deliveryFor, describeDelivery } from './fuzz/deliveries.js';
import { RecordingBackend } from './fuzz/recording-backend.js';

/**
 * A raw-socket fuzzer against the balancer as a process: mutated requests go in, and a recording
 * backend checks that everything that reached it is what a strict parser accepts from what was sent,
 * that the balancer stays up, and that no connection to the backend is left open. FUZZ_RUNS and
 * FUZZ_SEED make longer or different runs (e.g. FUZZ_RUNS=100000).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = Number(process.env.FUZZ_SEED ?? 0xf022);
const CONCURRENCY = 6;
/** Cases take turns over client addresses 127.0.0.2-251, so that the backend knows whose request it got. */
const ADDRESSES = 250;
const addressOf = (index: number) => `127.0.0.${2 + (index % ADDRESSES)}`;

/** An absolute-form target reaches a replica as its path. */
function pathOf(target: string): string {
  const match = /^https?:\/\/[^/]*(\/.*)?$/i.exec(target);
  return match ? (match[1] ?? '/') : target;
}

/** Sends one case on its own connection; done when answered as the strict reading expects, or quiet. */
function send(port: number, fuzz: FuzzCase, wanted: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: addressOf(fuzz.index) });
    let out = '';
    let quiet: NodeJS.Timeout | undefined;
    let sent = false;
    const finish = () => {
      clearTimeout(quiet);
      clearTimeout(cap);
      socket.destroy();
      resolve(out);
    };
    const rearm = () => {
      clearTimeout(quiet);
      quiet = setTimeout(finish, 250);
    };
    let cap = setTimeout(finish, 10_000);
    socket.on('error', () => undefined);
    socket.on('close', finish);
    socket.on('data', (chunk) => {
      out += chunk.toString('latin1');
      if (wanted > 0 && (out.match(/HTTP\/1\.[01] \d{3} /g)?.length ?? 0) >= wanted) finish();
      else if (sent) rearm();
    });
    socket.on('connect', () => {
      const bytes = Buffer.from(fuzz.bytes, 'latin1');
      void deliver(socket, bytes, deliveryFor(fuzz.index, bytes.length)).then(() => {
        sent = true;
        clearTimeout(cap);
        cap = setTimeout(finish, 2_000);
        rearm();
      });
    });
  });
}

function describeCase(fuzz: FuzzCase): string {
  const delivery = describeDelivery(deliveryFor(fuzz.index, fuzz.bytes.length));
  return `case ${fuzz.index} (seed ${SEED}, template ${fuzz.template}, ${fuzz.mutations.join('+')}, sent ${delivery}): ${JSON.stringify(fuzz.bytes.slice(0, 300))}`;
}

describe('raw-socket fuzzing of the front', () => {
  const backend = new RecordingBackend();
  let lb: Started;

  beforeAll(async () => {
    const url = await backend.listen();
    lb = await startCli(
      '--provider',
      'static',
      '--backends',
      url,
      '--health-path',
      '/health',
      '--headers-timeout',
      '2000',
    );
  });

  afterAll(async () => {
    // startCli's own afterEach stops the process too; this covers a failure in beforeAll.
    for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
    await backend.close();
  });

  it(
    `forwards only what a strict parser accepts, stays up and leaks no replica connection (${RUNS} cases)`,
    async () => {
      const cases: FuzzCase[] = [];
      const refusedByCut: string[] = [];
      let next = 0;
      const worker = async () => {
        while (next < RUNS) {
          const fuzz = fuzzCase(SEED, next++);
          cases.push(fuzz);
          backend.ownerOf.set(addressOf(fuzz.index), fuzz.index);
          const reading = readStrictly(Buffer.from(fuzz.bytes, 'latin1'));
          const out = await send(lb.port, fuzz, reading.complete);
          // Where a read ends must never decide what is refused (TCP has no message boundaries).
          if (out.includes('line breaks must be CRLF') && reading.refused !== 'line breaks must be CRLF') {
            refusedByCut.push(`refused as bare line breaks: ${describeCase(fuzz)}`);
          }
          expect(isAlive(lb.child.pid!), `ringlb died after ${describeCase(fuzz)}`).toBe(true);
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      await new Promise((resolve) => setTimeout(resolve, 300));

      // Still serving normal requests.
      const normal = await fetch(`${lb.url}/after-fuzzing`);
      expect(normal.status).toBe(200);
      expect(await normal.text()).toBe('ok');

      // Whatever reached the backend is a request the strict reading of the case accepts, each at most
      // once (pipelined requests handed to node:http may reach the backend in either order).
      const violations = [...backend.violations, ...refusedByCut];
      if (backend.byCase.has(-2))
        violations.push(`requests from unknown clients: ${JSON.stringify(backend.byCase.get(-2))}`);
      for (const fuzz of cases) {
        const accepted = readStrictly(Buffer.from(fuzz.bytes, 'latin1')).requests.map(
          (head) => `${head.method} ${pathOf(head.target)}`,
        );
        for (const got of backend.byCase.get(fuzz.index) ?? []) {
          const at = accepted.indexOf(`${got.method} ${pathOf(got.target)}`);
          if (at >= 0) accepted.splice(at, 1);
          else
            violations.push(
              `forwarded ${got.method} ${got.target}, which a strict parser refuses, from ${describeCase(fuzz)}`,
            );
        }
      }
      expect(violations.slice(0, 10)).toEqual([]);

      // Connections to the backend stay within the pools' bounds (64 fast + 64 undici + a health
      // check), and none is left holding half a request once its client has gone.
      expect(backend.peakOpen).toBeLessThanOrEqual(64 + 64 + 1);
      // The run did leave requests half sent to the backend (bodies cut short), so the check below bites.
      expect(backend.halfRequests).toBeGreaterThan(0);
      await waitFor(
        'the balancer to close every connection that holds half a request',
        () => (backend.stuck === 0 ? true : undefined),
        5_000,
      );
    },
    Math.max(120_000, RUNS * 25),
  );
});
