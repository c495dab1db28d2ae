import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, connect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeCertificate, tempDir } from './certificates.js';
import { childrenOf, MAIN, running } from './cli-process.js';
import { call, waitFor } from './helpers.js';

/**
 * Issue 19, "the first hour": every mistake a newcomer made, run as they ran it (the real CLI in a
 * child process, real ports, real files), with what ringlb must say. One row per mistake.
 */

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `ringlb ...args` to its end (at most 20 s) without blocking this process's servers. */
function ringlb(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A TCP port held by this test, so the balancer finds it taken. */
async function takenPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

/** A free port: taken, then given back. */
async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** An HTTP/1.1 server answering its heartbeat. */
async function http1Server(): Promise<string> {
  const server: Server = createHttpServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function certificates() {
  const { dir, remove } = tempDir();
  cleanups.push(remove);
  return { dir, a: makeCertificate(dir, 'a'), b: makeCertificate(dir, 'b') };
}

const CHECK_STATIC = ['check', '--port', '0', '--provider', 'static', '--backends'];

const STACK = /\n\s+at .+:\d+:\d+/;

/** Start-up mistakes: ringlb says what is wrong, naming the setting, before anything starts. */
const STARTUP_ROWS: readonly {
  mistake: string;
  args: () => Promise<string[]> | string[];
  env?: NodeJS.ProcessEnv;
  says: RegExp;
}[] = [
  {
    mistake: 'the port is taken',
    args: async () => ['start', '--host', '127.0.0.1', '--port', String(await takenPort()), '--workers', '1'],
    says: /^ringlb: not started: 1 problem:\n {2}--port: 127\.0\.0\.1:\d+ is in use \(another process listens there\): stop it, or choose another port\n$/,
  },
  {
    mistake: 'the admin listener is the public port',
    args: async () => {
      const port = String(await freePort());
      return ['check', '--port', port, '--admin-listen', `127.0.0.1:${port}`];
    },
    says: /--admin-listen: 127\.0\.0\.1:(\d+) is also --port \(0\.0\.0\.0:\1\): give each listener a port of its own/,
  },
  {
    mistake: 'the certificate file does not exist',
    args: () => ['check', '--port', '0', '--tls-cert', '/nonexist', '--tls-key', certificates().a.key],
    says: /--tls-cert: cannot read "\/nonexist": no such file \(ENOENT\)/,
  },
  {
    mistake: 'the key file is given as the certificate',
    args: () => {
      const { a } = certificates();
      return ['check', '--port', '0', '--tls-cert', a.key, '--tls-key', a.key];
    },
    says: /--tls-cert: ".*a\.key" holds a private key, not a certificate: give it to --tls-key, and the certificate here/,
  },
  {
    mistake: 'the key is not the certificate’s',
    args: () => {
      const { a, b } = certificates();
      return ['check', '--port', '0', '--tls-cert', a.cert, '--tls-key', b.key];
    },
    says: /--tls-key: ".*b\.key" is not the key of the certificate in ".*a\.crt": give the key it was issued for/,
  },
  {
    mistake: 'the Docker socket is missing',
    args: () => [
      'check',
      '--port',
      '0',
      '--provider',
      'docker',
      '--docker-socket',
      '/tmp/ringlb-no-docker.sock',
    ],
    says: /--docker-socket: no Docker daemon at "\/tmp\/ringlb-no-docker\.sock" \(ENOENT\): start dockerd, or give its socket's path/,
  },
  {
    mistake: 'the same backend twice',
    args: () => ['start', '--provider', 'static', '--backends', 'http://127.0.0.1:1,http://127.0.0.1:1'],
    says: /--backends: "http:\/\/127\.0\.0\.1:1" is listed twice: give each backend once/,
  },
  {
    mistake: 'a path in a backend URL',
    args: () => ['start', '--provider', 'static', '--backends', 'http://127.0.0.1:1/prefix'],
    says: /--backends: "http:\/\/127\.0\.0\.1:1\/prefix" has a path, query or user: give scheme, host and port only \(paths are not forwarded\)/,
  },
  {
    mistake: 'an h2c:// backend that speaks HTTP/1.1',
    args: async () => {
      const host = await http1Server();
      return [...CHECK_STATIC, `h2c://${host}`];
    },
    says: /--backends: h2c:\/\/127\.0\.0\.1:(\d+) speaks HTTP\/1\.1, not h2c: give it as http:\/\/127\.0\.0\.1:\1/,
  },
  {
    mistake: '--upstream-protocol h2c with backends that speak HTTP/1.1',
    args: async () => {
      const host = await http1Server();
      return [...CHECK_STATIC, `http://${host}`, '--upstream-protocol', 'h2c'];
    },
    says: /--upstream-protocol: http:\/\/127\.0\.0\.1:\d+ speaks HTTP\/1\.1, not h2c: use --upstream-protocol http1/,
  },
  {
    mistake: '--upstream-protocol h2c with the replicas ringlb starts',
    args: () => ['start', '--upstream-protocol', 'h2c'],
    says: /--upstream-protocol: the replicas ringlb starts speak HTTP\/1\.1; h2c is for --provider static backends that speak it/,
  },
  {
    mistake: 'a classic ring size on maglev',
    args: () => ['start', '--ring', 'maglev', '--ring-size', '3'],
    says: /--ring-size: 3 is a setting of the classic ring, and the ring is maglev: leave it out, or choose --ring classic/,
  },
  {
    mistake: 'a maglev table size that is not prime (PUT /ring says the same)',
    args: () => ['start', '--maglev-table-size', '100'],
    says: /--maglev-table-size: the maglev table size must be a prime number; 100 is not \(nearest primes: 97, 101\)/,
  },
  {
    mistake: 'ringlb down without endpoints',
    args: () => ['down'],
    says: /^ringlb: down needs --etcd-endpoints URL,URL,\.\.\.: the etcd that the balancers of the cluster share \(see ringlb down --help\)\n$/,
  },
  {
    mistake: 'a bad flag as the last argument',
    args: () => ['start', '--port', '0', '--bogus-flag'],
    says: /^ringlb: unknown option --bogus-flag \(see ringlb start --help\)\n$/,
  },
  {
    mistake: '--access-log maybe',
    args: () => ['start', '--access-log', 'maybe'],
    says: /--access-log: expected true or false \(or 1 or 0\), got "maybe"/,
  },
  {
    mistake: 'RINGLB_ACCESS_LOG=maybe (the same words)',
    args: () => ['start'],
    env: { RINGLB_ACCESS_LOG: 'maybe' },
    says: /RINGLB_ACCESS_LOG: expected true or false \(or 1 or 0\), got "maybe"/,
  },
  {
    mistake: '--advertise-host that is not an address of this machine',
    // 192.0.2.1 is TEST-NET-1: no machine here has it, and nothing is sent there (only a bind is tried).
    args: () => ['check', '--port', '0', '--advertise-host', '192.0.2.1'],
    says: /^ringlb: check failed: 1 problem:\n {2}--advertise-host: 192\.0\.2\.1 is not an address of this machine \(EADDRNOTAVAIL\): replicas listen on it; give one of this host's addresses\n$/,
  },
  {
    mistake: '--advertise-host 0.0.0.0',
    args: () => ['start', '--advertise-host', '0.0.0.0'],
    says: /--advertise-host: "0\.0\.0\.0" listens on every address but names none that others can reach: give this host's address/,
  },
  {
    mistake: '--port abc',
    args: () => ['start', '--port', 'abc'],
    says: /--port: expected a whole number from 0 to 65535, got "abc"/,
  },
];

describe('the first hour: start-up mistakes are caught early and said clearly', () => {
  for (const row of STARTUP_ROWS) {
    it(`${row.mistake}: ${row.says.source.slice(0, 60)}…`, async () => {
      const run = await ringlb(await row.args(), row.env);
      expect(run.stderr).toMatch(row.says);
      expect(run.stderr).not.toMatch(STACK);
      expect(run.code).toBe(2);
      // Nothing started: no replica announced, nothing listened.
      expect(run.stdout).not.toMatch(/listening/);
    });
  }

  it('ringlb check passes a good configuration and starts nothing', async () => {
    const host = await http1Server();
    const run = await ringlb([...CHECK_STATIC, `http://${host}`]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ringlb check: no problems; would listen on 0\.0\.0\.0:0 with 1 replicas/);
  });

  it('lists every problem at once, one line each', async () => {
    const run = await ringlb([
      'check',
      '--port',
      String(await takenPort()),
      '--host',
      '127.0.0.1',
      '--tls-cert',
      '/nonexist',
      '--tls-key',
      '/nonexist',
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr.split('\n').filter((line) => line.startsWith('  --'))).toHaveLength(3);
  });
});

const HELP_ROWS: readonly [string, RegExp][] = [
  ['start', /^ringlb \d+\.\d+\.\d+: a consistent-hashing HTTP load balancer/],
  ['check', /^ringlb \d+\.\d+\.\d+: a consistent-hashing HTTP load balancer/],
  ['status', /^Usage: ringlb status \[options\]/],
  ['add', /^Usage: ringlb add /],
  ['rm', /^Usage: ringlb rm /],
  ['down', /^Usage: ringlb down --etcd-endpoints URL,URL,\.\.\. \[--cluster-name NAME\]/],
  ['replica', /^Usage: ringlb replica\n/],
];

describe('the first hour: --help on every command prints its help and does nothing else', () => {
  for (const [command, says] of HELP_ROWS) {
    it(`ringlb ${command} --help`, async () => {
      // An unreachable etcd and a taken port would show if the command ran anyway.
      const run = await ringlb([command, '--help'], {
        RINGLB_ETCD_ENDPOINTS: 'http://127.0.0.1:1',
        PORT: String(await takenPort()),
      });
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(says);
      expect(run.stderr).toBe('');
    });
  }
});

/** `ringlb start` as a child, its JSON log lines kept. */
async function started(...args: string[]) {
  const child = spawn(
    process.execPath,
    [MAIN, 'start', '--host', '127.0.0.1', '--port', '0', '--workers', '1', '--log-format', 'json', ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  running.push(child);
  const lines: Record<string, unknown>[] = [];
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const part of parts) if (part.startsWith('{')) lines.push(JSON.parse(part));
  });
  const port = await waitFor(
    'it',
    () => lines.find((l) => l.msg === 'ringlb listening')?.port as number | undefined,
    20_000,
  );
  return { child, lines, port, url: `http://127.0.0.1:${port}` };
}

describe('the first hour: while running', () => {
  it('says at start-up how the classic ring spreads keys, and how to spread them evenly', async () => {
    const lb = await started('--replicas', '3');
    const line = await waitFor('it', () => lines(lb).find((l) => String(l.msg).startsWith('ring classic:')));
    expect(line.msg).toMatch(
      /^ring classic: the busiest of 3 replicas holds \d+% of keys, [\d.]+× the mean \(the seed's ring, uneven by design; --ring maglev or ketama spread keys evenly\)$/,
    );
    expect(line.maxOverMean).toBeGreaterThan(2);
    const maglev = await started('--replicas', '3', '--ring', 'maglev', '--maglev-table-size', '1009');
    const even = await waitFor('it', () =>
      lines(maglev).find((l) => String(l.msg).startsWith('ring maglev:')),
    );
    expect(even.msg).not.toMatch(/--ring maglev/);
    expect(even.maxOverMean).toBeLessThan(1.05);
  });

  it('PUT /ring on maglev refuses a classic ring size, so a later switch to classic works', async () => {
    const lb = await started('--replicas', '2', '--ring', 'maglev', '--maglev-table-size', '1009');
    const refused = await call(`${lb.url}/ring`, { method: 'PUT', json: { ringSize: 3 } });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toBe(
      `<Error> 'ringSize': 3 is a setting of the classic ring, and the ring is maglev: leave it out, or send "algorithm":"classic" with it`,
    );
    const notPrime = await call(`${lb.url}/ring`, { method: 'PUT', json: { maglevTableSize: 100 } });
    expect(notPrime.body.message).toBe(
      "<Error> 'maglevTableSize': the maglev table size must be a prime number; 100 is not (nearest primes: 97, 101)",
    );
    expect((await call(`${lb.url}/ring`, { method: 'PUT', json: { algorithm: 'classic' } })).status).toBe(
      200,
    );
  });

  it('names each replica in its process title', async () => {
    const lb = await started('--replicas', '2');
    const titles = await waitFor('it', () => {
      const found = childrenOf(lb.child.pid!).map((pid) =>
        readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, ''),
      );
      return found.length === 2 && found.every((t) => t.startsWith('ringlb replica'))
        ? found.sort()
        : undefined;
    });
    expect(titles[0]).toMatch(/^ringlb replica "Server 1" :\d+/);
    expect(titles[1]).toMatch(/^ringlb replica "Server 2" :\d+/);
  });

  it('says "cannot add 1 replica", and the removal log counts what it names', async () => {
    const lb = await started('--replicas', '2', '--ring-size', '18', '--vnodes', '9');
    const full = await call(`${lb.url}/add`, { method: 'POST' });
    expect(full.status).toBe(400);
    expect(full.body.message).toBe('<Error> cannot add 1 replica: the ring holds at most 2 and has 2');
    expect((await call(`${lb.url}/rm`, { method: 'POST', json: { n: 2 } })).status).toBe(200);
    const removed = await waitFor('it', () => lines(lb).find((l) => l.msg === 'replicas removed'));
    expect(removed.n).toBe((removed.removed as string[]).length);
    expect(removed.n).toBe(2);
    expect(removed.remaining).toBe(0);
    expect((await call(`${lb.url}/add`, { method: 'POST', json: { n: 1 } })).status).toBe(200);
    const added = await waitFor('it', () => lines(lb).find((l) => l.msg === 'replicas added' && l.n === 1));
    expect(added).toMatchObject({ added: ['Server 1'], replicas: 1 });
  });

  it('logs refusals at --max-connections', async () => {
    const lb = await started('--replicas', '1', '--max-connections', '1');
    const first = connect(lb.port, '127.0.0.1');
    cleanups.push(() => void first.destroy());
    await new Promise((resolve) => first.once('connect', resolve));
    const second = connect(lb.port, '127.0.0.1');
    second.on('error', () => undefined);
    cleanups.push(() => void second.destroy());
    const line = await waitFor('it', () =>
      lines(lb).find((l) => l.msg === 'connections refused: --max-connections reached'),
    );
    expect(line).toMatchObject({ level: 40, maxConnections: 1 });
    expect(line.refused).toBeGreaterThanOrEqual(1);
  });

  it('logs a bad certificate on disk once, without a stack trace, and answers plain HTTP on the TLS port with a 400', async () => {
    const { dir, a } = certificates();
    const lb = await started('--replicas', '1', '--tls-cert', a.cert, '--tls-key', a.key);
    const aside = join(dir, 'broken.crt');
    writeFileSync(aside, '-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n');
    renameSync(aside, a.cert);
    await waitFor('it', () =>
      lines(lb).find((l) => String(l.msg).startsWith('new TLS certificate or key refused')),
    );
    // The watch and the poll keep looking; the same problem is not said again.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const refusals = lines(lb).filter((l) => String(l.msg).startsWith('new TLS certificate or key refused'));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]!.msg).toMatch(/holds no PEM certificate/);
    expect(JSON.stringify(refusals[0])).not.toMatch(/stack/);

    const plain = await fetch(`http://127.0.0.1:${lb.port}/home`);
    expect(plain.status).toBe(400);
    expect(await plain.json()).toEqual({
      message: '<Error> this port speaks TLS: use https://',
      status: 'failure',
    });
  });
});

function lines(lb: { lines: Record<string, unknown>[] }): Record<string, unknown>[] {
  return lb.lines;
}
