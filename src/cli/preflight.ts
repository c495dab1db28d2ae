import { request } from 'node:http';
import { connect, createServer } from 'node:net';
import { pino } from 'pino';
import { http2 } from '../edge/lazy-protocols.js';
import { tlsPairProblems } from '../edge/tls-pair.js';
import { SwarmService } from '../providers/swarm/swarm-service.js';
import type { Config } from './config.js';
import { backendOrigin } from './protocols.js';
import { SETTINGS, type SettingKey } from './settings/index.js';

/**
 * The checks `ringlb check` runs, and `ringlb start` runs before anything starts: what the settings'
 * own rules cannot see because it lives outside the process (ports, files, the Docker daemon, the
 * backends). Each problem names the setting, its value and what to do.
 */
/** What the checks found that a start acts on. */
export interface StartChecks {
  /**
   * Static backends (by origin) that did not answer, and why: the balancer starts them unhealthy
   * (kept, checked, taken in once they answer) instead of waiting for them a second time.
   */
  readonly unanswered?: ReadonlyMap<string, string>;
}

export interface Preflight extends StartChecks {
  readonly problems: string[];
  readonly warnings: string[];
}

const PROBE_TIMEOUT_MS = 2_000;
/**
 * `ringlb start` waits this long for a static backend's first answer, not `PROBE_TIMEOUT_MS`: one
 * that is silent (a link that drops packets) is only a warning, it is checked and taken in once it
 * answers, and the others must not wait for it. `ringlb check` waits the whole time.
 */
const START_BACKEND_WAIT_MS = 250;

const flagOf = (key: SettingKey) => `--${SETTINGS.find((s) => s.key === key)!.flag}`;

/** Why nothing can listen on host:port now, or undefined when something can. */
function cannotListen(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

function splitHostPort(text: string): { host: string; port: number } {
  const at = text.lastIndexOf(':');
  return { host: text.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(text.slice(at + 1)) };
}

const ANY = new Set(['0.0.0.0', '::', '']);
const overlaps = (a: string, b: string) => a === b || ANY.has(a) || ANY.has(b);

async function portProblems(config: Config): Promise<string[]> {
  const listeners: { key: SettingKey; host: string; port: number }[] = [
    { key: 'port', host: config.host, port: config.port },
  ];
  if (config.httpRedirectPort !== undefined) {
    listeners.push({ key: 'httpRedirectPort', host: config.host, port: config.httpRedirectPort });
  }
  if (config.adminListen !== undefined)
    listeners.push({ key: 'adminListen', ...splitHostPort(config.adminListen) });
  const problems: string[] = [];
  for (const [i, a] of listeners.entries()) {
    const clash = listeners
      .slice(0, i)
      .find((b) => a.port !== 0 && a.port === b.port && overlaps(a.host, b.host));
    if (clash) {
      problems.push(
        `${flagOf(a.key)}: ${a.host}:${a.port} is also ${flagOf(clash.key)} (${clash.host}:${clash.port}): give each listener a port of its own`,
      );
      continue;
    }
    // Port 0 is any free port: nothing to clash with, but its address must still be one of ours.
    const code = await cannotListen(a.host, a.port);
    if (code === undefined) continue;
    const what =
      code === 'EADDRINUSE'
        ? 'is in use (another process listens there): stop it, or choose another port'
        : code === 'EACCES'
          ? 'needs privileges (ports below 1024 need root or CAP_NET_BIND_SERVICE): choose a port from 1024 up'
          : code === 'EADDRNOTAVAIL'
            ? 'is not an address of this machine: choose one it has, or 0.0.0.0'
            : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
              ? `names no address (${code}): give an address of this machine, or 0.0.0.0`
              : `cannot be listened on (${code})`;
    // The address is --host's (the listeners on it share it), the port is the listener's own.
    const blamed = a.key !== 'adminListen' && code !== 'EADDRINUSE' && code !== 'EACCES' ? 'host' : a.key;
    problems.push(`${flagOf(blamed)}: ${a.host}:${a.port} ${what}`);
  }
  return problems;
}

function tlsProblems(config: Config): Preflight {
  if (config.tlsCert === undefined || config.tlsKey === undefined) return { problems: [], warnings: [] };
  const { problems, warnings } = tlsPairProblems(config.tlsCert, config.tlsKey);
  return {
    problems: problems.map((p) => `${flagOf(p.file === 'cert' ? 'tlsCert' : 'tlsKey')}: ${p.message}`),
    warnings: warnings.map((w) => `--tls-cert: ${w}`),
  };
}

/** `GET path` from the Docker daemon: its status code, or the error that kept it from answering. */
function dockerGet(socketPath: string, path: string): Promise<number | NodeJS.ErrnoException> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path, timeout: PROBE_TIMEOUT_MS }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error));
    req.end();
  });
}

/** Asks the Docker daemon for `GET /_ping`; resolves with why it cannot be used, or undefined. */
async function dockerProblem(socketPath: string): Promise<string | undefined> {
  const answer = await dockerGet(socketPath, '/_ping');
  if (answer === 200) return undefined;
  if (typeof answer === 'number') return `the daemon answered /_ping with ${answer}`;
  const where = JSON.stringify(socketPath);
  return answer.code === 'ENOENT'
    ? `no Docker daemon at ${where} (ENOENT): start dockerd, or give its socket's path`
    : answer.code === 'EACCES'
      ? `permission denied on ${where} (EACCES): run as root or as a member of the docker group`
      : answer.code === 'ECONNREFUSED'
        ? `the Docker daemon at ${where} is not running (ECONNREFUSED): start dockerd`
        : `the Docker daemon at ${where} did not answer (${answer.code ?? answer.message})`;
}

/** The replicas' image must be on the daemon: the provider creates containers from it, it pulls nothing. */
async function dockerImageProblem(socketPath: string, image: string): Promise<string | undefined> {
  const answer = await dockerGet(socketPath, `/images/${encodeURI(image)}/json`);
  if (answer !== 404) return undefined;
  return `the Docker daemon has no image ${JSON.stringify(image)} (docker image ls): build it (make build BASE=local), or docker pull it`;
}

/** Opens the service as the balancer would (a manager, the service, its network): why not, or undefined. */
async function swarmProblem(config: Config): Promise<string | undefined> {
  const service = new SwarmService({
    socketPath: config.dockerSocket,
    service: config.swarmService,
    network: config.swarmNetwork,
    logger: pino({ enabled: false }),
  });
  try {
    await service.open();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await service.close();
  }
}

type Spoken = 'http1' | 'h2c' | 'nothing';

/** What a server at host:port speaks: an HTTP/1.1 request answered with HTTP/1.x, or an HTTP/2 frame. */
function probeHttp1(host: string, port: number, path: string, timeoutMs: number): Promise<Spoken | string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      resolve(`did not answer within ${timeoutMs / 1000} s`);
    });
    socket.once('connect', () =>
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nConnection: close\r\n\r\n`),
    );
    socket.once('data', (chunk: Buffer) => {
      socket.destroy();
      // An HTTP/2 server answers anything with a SETTINGS or GOAWAY frame (type 4 or 7 in byte 3).
      resolve(
        chunk.toString('latin1', 0, 5) === 'HTTP/'
          ? 'http1'
          : chunk[3] === 4 || chunk[3] === 7
            ? 'h2c'
            : 'nothing',
      );
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

function probeH2c(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const session = http2().connect(`http://${host}:${port}`);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      session.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), PROBE_TIMEOUT_MS);
    session.once('remoteSettings', () => done(true));
    session.once('error', () => done(false));
  });
}

/** Each static backend spoken to in the protocol it is configured for. */
async function backendProblems(config: Config, waitMs: number): Promise<Preflight> {
  const problems: string[] = [];
  const warnings: string[] = [];
  const unanswered = new Map<string, string>();
  await Promise.all(
    config.backends.map(async (url) => {
      const parsed = new URL(url);
      const host = parsed.hostname.replace(/^\[|\]$/g, '');
      const port = Number(parsed.port || 80);
      const wantsH2c = parsed.protocol === 'h2c:' || config.upstreamProtocol === 'h2c';
      const http1 = await probeHttp1(host, port, config.healthPath, waitMs);
      if (http1 !== 'http1' && http1 !== 'h2c' && http1 !== 'nothing') {
        unanswered.set(backendOrigin(url), http1);
        warnings.push(
          `--backends: ${url} ${http1.startsWith('did not') ? http1 : `is not answering (${http1})`}; it is checked and taken in once it answers`,
        );
        return;
      }
      if (wantsH2c && http1 === 'http1' && !(await probeH2c(host, port))) {
        const how =
          parsed.protocol === 'h2c:' ? `give it as http://${parsed.host}` : 'use --upstream-protocol http1';
        problems.push(
          `${parsed.protocol === 'h2c:' ? '--backends' : '--upstream-protocol'}: ${url} speaks HTTP/1.1, not h2c: ${how}`,
        );
      } else if (!wantsH2c && http1 === 'h2c') {
        problems.push(
          `--backends: ${url} speaks only HTTP/2 (h2c), not HTTP/1.1: give it as h2c://${parsed.host}`,
        );
      }
    }),
  );
  return { problems, warnings, unanswered };
}

const isLoopback = (host: string) => /^(127\.|localhost$|::1$|\[::1\]$)/.test(host);

/**
 * Replicas this instance starts listen on `--advertise-host` (or Docker publishes there), so it must
 * be an address of this machine; and in a cluster that spans hosts, a loopback address reaches
 * them from this host only.
 */
async function advertiseProblems(config: Config): Promise<Preflight> {
  if (config.provider !== 'process' && config.provider !== 'docker') return { problems: [], warnings: [] };
  const key: SettingKey = config.provider === 'docker' ? 'dockerPublishHost' : 'advertiseHost';
  const host = config.provider === 'docker' ? config.dockerPublishHost : config.advertiseHost;
  const inNetwork = config.provider === 'docker' && config.dockerNetwork !== '';
  const problems: string[] = [];
  const warnings: string[] = [];
  if (!inNetwork) {
    const code = await cannotListen(host, 0);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      problems.push(
        `${flagOf(key)}: ${host} is not an address of this machine (${code}): replicas listen on it; give one of this host's addresses`,
      );
    } else if (code !== undefined) problems.push(`${flagOf(key)}: cannot listen on ${host} (${code})`);
  }
  const remoteEtcd = config.etcdEndpoints.some((url) => !isLoopback(new URL(url).hostname));
  if (config.membership === 'etcd' && remoteEtcd && isLoopback(host) && !inNetwork) {
    warnings.push(
      `${flagOf(key)}: ${host} with an etcd on other hosts: instances on other hosts cannot reach this instance's replicas; give an address they reach`,
    );
  }
  return { problems, warnings };
}

/** The checks, for `ringlb check` or before `ringlb start` (which waits less for silent backends). */
export async function preflight(config: Config, command: 'start' | 'check' = 'check'): Promise<Preflight> {
  const advertise = await advertiseProblems(config);
  const tls = tlsProblems(config);
  const backendWaitMs = command === 'start' ? START_BACKEND_WAIT_MS : PROBE_TIMEOUT_MS;
  const backends =
    config.provider === 'static'
      ? await backendProblems(config, backendWaitMs)
      : { problems: [], warnings: [] };
  const docker =
    config.provider === 'docker' || config.provider === 'swarm'
      ? await dockerProblem(config.dockerSocket)
      : undefined;
  const swarm = config.provider === 'swarm' && !docker ? await swarmProblem(config) : undefined;
  const image =
    config.provider === 'docker' && !docker
      ? await dockerImageProblem(config.dockerSocket, config.dockerImage)
      : undefined;
  return {
    problems: [
      ...(await portProblems(config)),
      ...tls.problems,
      ...(docker ? [`--docker-socket: ${docker}`] : []),
      ...(swarm ? [`--swarm-service: ${swarm}`] : []),
      ...(image ? [`--docker-image: ${image}`] : []),
      ...backends.problems,
      ...advertise.problems,
    ],
    warnings: [...tls.warnings, ...backends.warnings, ...advertise.warnings],
    ...(backends.unanswered ? { unanswered: backends.unanswered } : {}),
  };
}
