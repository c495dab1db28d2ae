import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, connect, type AddressInfo } from 'node:net';
import { connect as connectH2, constants as h2 } from 'node:http2';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeCertificate, tempDir } from './certificates.js';
import { childrenOf, runCli as ringlb, startLogged as started } from './cli-process.js';
import { call, waitFor } from './helpers.js';

/**
 * Issue 19, "the first hour": every mistake a newcomer made, run as they ran it (the real CLI in a
 * child process, real ports, real files), with what ringlb must say. One row per mistake.
 */

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A TCP port held by this test, so the balancer finds it taken. */
async function takenPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

/** Why this test cannot listen on 127.0.0.1:port (its error code), or undefined if it can. */
function cannotBind(port: number): Promise<string | undefined> {
  const server = createNetServer();
  return new Promise((resolve) => {
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(undefined)));
  });
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
    mistake: 'a bad flag to ringlb check (the hint names check)',
    args: () => ['check', '--bogus-flag'],
    says: /^ringlb: unknown option --bogus-flag \(see ringlb check --help\)\n$/,
  },
  {
    mistake: 'a bad flag to ringlb down (the hint names down)',
    args: () => ['down', '--bogus-flag'],
    says: /^ringlb: unknown option --bogus-flag \(see ringlb down --help\)\n$/,
  },
  {
    mistake: 'a bad flag to ringlb replica',
    args: () => ['replica', '--bogus-flag'],
    says: /^ringlb: replica: unknown option "--bogus-flag" \(see ringlb replica --help\)\n$/,
  },
  {
    mistake: 'a single-dash option',
    args: () => ['start', '-p', '5000'],
    says: /^ringlb: unknown option -p \(see ringlb start --help\)\n$/,
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
    mistake: '--host that names no address',
    args: () => ['start', '--host', '999.1.1.1', '--port', '0'],
    says: /--host: 999\.1\.1\.1:0 names no address \(ENOTFOUND\): give an address of this machine, or 0\.0\.0\.0/,
  },
  {
    mistake: '--backends without --provider static (they were silently ignored)',
    args: () => ['start', '--backends', 'http://127.0.0.1:1'],
    says: /--backends: backends are servers that run already, for --provider static; --provider process starts replicas of its own: add --provider static, or leave --backends out/,
  },
  {
    mistake: 'a config file that is not there',
    args: () => ['check', '--config', '/nonexist.json'],
    says: /^ringlb: --config: cannot read "\/nonexist\.json": no such file \(ENOENT\)\n$/,
  },
  {
    mistake: 'an admin token file that is not there',
    args: () => ['check', '--admin-token-file', '/nonexist'],
    says: /--admin-token-file: cannot read "\/nonexist": no such file \(ENOENT\)/,
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
      // Each problem said once (the key given as the certificate was said twice).
      const said = run.stderr.split('\n').filter((line) => line !== '');
      expect(said).toEqual([...new Set(said)]);
      expect(run.code).toBe(2);
      // Nothing started: no replica announced, nothing listened.
      expect(run.stdout).not.toMatch(/listening/);
    });
  }

  it('ringlb check passes a good configuration and starts nothing', async () => {
    const host = await http1Server();
    const run = await ringlb([...CHECK_STATIC, `http://${host}`]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^ringlb check: no problems; would listen on 0\.0\.0\.0:0 with 1 replica \(--provider static, --ring classic\)\n$/,
    );
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

/** Mistakes with the commands that talk to a running balancer: bad usage exits 2, said plainly. */
const CLIENT_ROWS: readonly { args: string[]; env?: NodeJS.ProcessEnv; says: string }[] = [
  {
    args: ['status', '-u', 'x'],
    says: 'ringlb: unknown option -u for ringlb status (see ringlb status --help)\n',
  },
  { args: ['status', 'extra'], says: 'ringlb: status takes no names (got "extra")\n' },
  { args: ['add', '--n', 'two'], says: 'ringlb: --n: expected a whole number from 1 up, got "two"\n' },
  {
    args: ['status'],
    env: { RINGLB_TIMEOUT: 'soon' },
    says: 'ringlb: RINGLB_TIMEOUT: expected a whole number from 1 up, got "soon"\n',
  },
  {
    args: ['status', '--url', 'localhost:5000'],
    says: 'ringlb: --url: "localhost:5000" must start with http:// or https://\n',
  },
  {
    args: ['status'],
    env: { RINGLB_URL: 'localhost:5000' },
    says: 'ringlb: RINGLB_URL: "localhost:5000" must start with http:// or https://\n',
  },
  {
    args: ['plan'],
    says: 'ringlb: plan: say what to preview: add, rm, ring, weight (see ringlb plan --help)\n',
  },
];

describe('the first hour: client commands say what is wrong with their usage', () => {
  for (const row of CLIENT_ROWS) {
    it(`ringlb ${row.args.join(' ')}${row.env ? ` with ${JSON.stringify(row.env)}` : ''}`, async () => {
      const run = await ringlb(row.args, row.env);
      expect(run.stderr).toBe(row.says);
      expect(run.code).toBe(2);
    });
  }
});

const HELP_ROWS: readonly [string, RegExp][] = [
  ['start', /^ringlb \d+\.\d+\.\d+: a consistent-hashing HTTP load balancer/],
  ['check', /^ringlb \d+\.\d+\.\d+: a consistent-hashing HTTP load balancer/],
  ['status', /^Usage: ringlb status \[options\]/],
  ['add', /^Usage: ringlb add /],
  ['rm', /^Usage: ringlb rm /],
  ['down', /^Usage: ringlb down --etcd-endpoints URL,URL,\.\.\. \[--cluster-name NAME\]/],
  ['replica', /^Usage: ringlb replica( \[--cache[^\n]*)?\n\nRuns one replica server/],
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

    // Another problem is said once more, and then not again either.
    writeFileSync(aside, readFileSync(a.key));
    renameSync(aside, a.cert);
    const second = await waitFor('the second refusal', () => {
      const all = lines(lb).filter((l) => String(l.msg).startsWith('new TLS certificate or key refused'));
      return all.length === 2 ? all[1] : undefined;
    });
    expect(second.msg).toMatch(/holds a private key, not a certificate/);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(
      lines(lb).filter((l) => String(l.msg).startsWith('new TLS certificate or key refused')),
    ).toHaveLength(2);

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

/** One raw HTTP/1.1 request, read until the balancer closes: the status, headers and body it said. */
function rawHttp1(port: number, head: string): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(head));
    cleanups.push(() => void socket.destroy());
    let text = '';
    socket.setTimeout(5_000, () => socket.destroy(new Error(`no answer to ${JSON.stringify(head)}`)));
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.once('error', reject);
    socket.once('close', () => {
      const split = text.indexOf('\r\n\r\n');
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0),
        headers: text.slice(0, split).toLowerCase(),
        body: text.slice(split + 4),
      });
    });
  });
}

/** One HTTP/2 request (prior knowledge, cleartext): its status, headers and body. */
function rawHttp2(
  port: number,
  headers: Record<string, string>,
  body = '',
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const session = connectH2(`http://127.0.0.1:${port}`);
    cleanups.push(() => void session.destroy());
    session.on('error', reject);
    const stream = session.request(headers, { endStream: body === '' });
    if (body !== '') stream.end(body);
    let answered: Record<string, unknown> = {};
    let text = '';
    stream.on('response', (h) => (answered = h));
    stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
    stream.on('error', reject);
    stream.on('close', () => {
      session.close();
      if (stream.rstCode !== h2.NGHTTP2_NO_ERROR && answered[':status'] === undefined)
        reject(new Error(`stream reset with code ${stream.rstCode}`));
      else resolve({ status: Number(answered[':status']), headers: answered, body: text });
    });
  });
}

const ALLOW = 'GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE, PATCH';

/** Requests with no answer of the proxy's own once got none, or an empty 400: each gets the seed's JSON. */
const REFUSAL_ROWS: readonly {
  request: string;
  http1: string;
  h2: Record<string, string>;
  h2Body?: string;
  status: number;
  message: string;
  header?: [string, string];
}[] = [
  {
    request: 'an unknown method (curl -X FOO)',
    http1: 'FOO /home HTTP/1.1\r\nHost: x\r\n\r\n',
    h2: { ':method': 'FOO', ':path': '/home' },
    status: 501,
    message: "<Error> the method 'FOO' is not implemented",
  },
  {
    request: 'CONNECT',
    http1: 'CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n',
    h2: { ':method': 'CONNECT', ':authority': '127.0.0.1:80' },
    status: 405,
    message: '<Error> CONNECT is not supported: ringlb is a reverse proxy, not a tunnel',
    header: ['allow', ALLOW],
  },
  {
    request: 'a body over --max-body-size',
    http1: `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n${'a'.repeat(500)}`,
    h2: { ':method': 'POST', ':path': '/upload', 'content-length': '500' },
    h2Body: 'a'.repeat(500),
    status: 413,
    message: '<Error> the body is larger than 100 bytes',
  },
  {
    // No length declared: the limit holds while the body streams (chunked, or HTTP/2 DATA frames).
    request: 'a body of no declared length over --max-body-size',
    http1: `POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1f4\r\n${'a'.repeat(500)}\r\n0\r\n\r\n`,
    h2: { ':method': 'POST', ':path': '/upload' },
    h2Body: 'a'.repeat(500),
    status: 413,
    message: '<Error> the body is larger than 100 bytes',
  },
];

describe("the first hour: every refusal is the seed's JSON, over HTTP/1.1 and HTTP/2 alike", () => {
  for (const row of REFUSAL_ROWS) {
    it(`HTTP/1.1: ${row.request} gets ${row.status}`, async () => {
      const lb = await started('--replicas', '1', '--max-body-size', '100');
      const reply = await rawHttp1(lb.port, row.http1);
      expect(reply.status).toBe(row.status);
      expect(JSON.parse(reply.body)).toEqual({ message: row.message, status: 'failure' });
      if (row.header) expect(reply.headers).toContain(`\r\n${row.header[0]}: ${row.header[1]}`.toLowerCase());
    });
    it(`HTTP/2: ${row.request} gets ${row.status}`, async () => {
      const lb = await started('--replicas', '1', '--h2c', 'true', '--max-body-size', '100');
      const reply = await rawHttp2(lb.port, row.h2, row.h2Body);
      expect(reply.status).toBe(row.status);
      expect(JSON.parse(reply.body)).toEqual({ message: row.message, status: 'failure' });
      if (row.header) expect(reply.headers[row.header[0]]).toBe(row.header[1]);
    });
  }

  it('a 503 for "no healthy replica" carries Retry-After: 1, over HTTP/1.1 and HTTP/2', async () => {
    const lb = await started('--replicas', '0', '--h2c', 'true');
    const one = await rawHttp1(lb.port, 'GET /home HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(one.status).toBe(503);
    expect(one.headers).toContain('\r\nretry-after: 1');
    expect(JSON.parse(one.body)).toEqual({
      message: '<Error> no healthy replica is available',
      status: 'failure',
    });
    const two = await rawHttp2(lb.port, { ':method': 'GET', ':path': '/home' });
    expect(two.status).toBe(503);
    expect(two.headers['retry-after']).toBe('1');
    expect(JSON.parse(two.body)).toEqual({
      message: '<Error> no healthy replica is available',
      status: 'failure',
    });
  });
});

describe('the first hour: finding a replica', () => {
  /** The title of a process the balancer started: `ringlb replica "Server 1" :PORT`. */
  const titleOf = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '');

  it("ringlb status and GET /rep?verbose=1 show each replica's address, pid, state and last check", async () => {
    const lb = await started('--replicas', '2');
    const children = await waitFor('the replica processes', () => {
      const pids = childrenOf(lb.child.pid!);
      return pids.length === 2 ? pids : undefined;
    });
    const rep = await waitFor('a check of each replica', async () => {
      const reply = await call(`${lb.url}/rep?verbose=1`);
      return reply.body.message.details.every((d: { lastCheck: unknown }) => d.lastCheck !== null)
        ? reply
        : undefined;
    });
    expect(rep.status).toBe(200);
    // The seed's fields as they are; the details beside them.
    expect(rep.body).toMatchObject({
      message: { N: 2, replicas: ['Server 1', 'Server 2'] },
      status: 'successful',
    });
    const details = rep.body.message.details as {
      name: string;
      state: string;
      origin: string;
      pid: number;
      containerId: null;
      lastCheck: { at: number; failure: null };
    }[];
    expect(details.map((d) => [d.name, d.state, d.containerId, d.lastCheck.failure])).toEqual([
      ['Server 1', 'healthy', null, null],
      ['Server 2', 'healthy', null, null],
    ]);
    for (const d of details) {
      // The pid is the balancer's child that runs this replica, on the port of its address.
      expect(children).toContain(d.pid);
      const port = /^http:\/\/127\.0\.0\.1:(\d+)$/.exec(d.origin)![1];
      expect(titleOf(d.pid)).toBe(`ringlb replica "${d.name}" :${port}`);
    }

    const status = await ringlb(['status', '--url', lb.url]);
    expect(status.code).toBe(0);
    const [header, ...rows] = status.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^REPLICA\s+STATE\s+ADDRESS\s+PROCESS\s+KEY SHARE\s+REQ\/S\s+P99\s+LAST CHECK$/);
    expect(rows.map((row) => row.split(/\s{2,}/).slice(0, 4))).toEqual(
      details.map((d) => [d.name, 'healthy', d.origin.replace('http://', ''), `pid ${d.pid}`]),
    );
    expect(rows.every((row) => / ok [\d.]+ s ago$/.test(row))).toBe(true);

    const dashboard = await call(`${lb.url}/dashboard/state`);
    expect(dashboard.body.replicas.map((r: { origin: string; pid: number }) => [r.origin, r.pid])).toEqual(
      details.map((d) => [d.origin, d.pid]),
    );
  });

  it('ringlb status reaches a balancer on a port that fetch calls bad (6000, 6665–6669, 10080)', async () => {
    let lb: Awaited<ReturnType<typeof started>> | undefined;
    for (const port of [6000, 6665, 6666, 6667, 6668, 6669, 10080]) {
      if ((await cannotBind(port)) !== undefined) continue;
      lb = await started('--replicas', '1', '--port', String(port));
      break;
    }
    expect(lb, 'one of those ports free').toBeDefined();
    const run = await ringlb(['status', '--url', lb!.url, '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).replicas.map((r: { name: string }) => r.name)).toEqual(['Server 1']);
  });

  it('ringlb status to a TLS balancer says which --url works, and how to trust its certificate', async () => {
    const { a } = certificates();
    const lb = await started('--replicas', '1', '--tls-cert', a.cert, '--tls-key', a.key);
    const rows: [string[], NodeJS.ProcessEnv, number, string][] = [
      [
        ['status', '--url', `http://127.0.0.1:${lb.port}`],
        {},
        1,
        `ringlb status: <Error> this port speaks TLS: use https:// (--url https://127.0.0.1:${lb.port})\n`,
      ],
      [
        ['status', '--url', `https://127.0.0.1:${lb.port}`],
        {},
        3,
        `ringlb status: cannot reach the balancer at https://127.0.0.1:${lb.port}: DEPTH_ZERO_SELF_SIGNED_CERT: its certificate is not trusted here; give its CA with NODE_EXTRA_CA_CERTS=ca.pem\n`,
      ],
      [['status', '--url', `https://127.0.0.1:${lb.port}`], { NODE_EXTRA_CA_CERTS: a.cert }, 0, ''],
    ];
    for (const [args, env, code, says] of rows) {
      const run = await ringlb(args, env);
      expect(run.stderr, JSON.stringify(env)).toBe(says);
      expect(run.code).toBe(code);
    }
  });

  it('GET /rep refuses a verbose that is not a boolean, and other parameters', async () => {
    const lb = await started('--replicas', '1');
    for (const [query, says] of [
      ['verbose=yes', `<Error> 'verbose' must be true or false, not "yes"`],
      ['n=3', "<Error> unknown query parameter 'n': expected 'verbose'"],
    ] as const) {
      const reply = await call(`${lb.url}/rep?${query}`);
      expect(reply.status, query).toBe(400);
      expect(reply.body).toEqual({ message: says, status: 'failure' });
    }
    expect((await call(`${lb.url}/rep?verbose=0`)).body).toEqual({
      message: { N: 1, replicas: ['Server 1'] },
      status: 'successful',
    });
  });
});
