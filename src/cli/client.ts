import { request as httpRequest } from 'node:http';
import { https } from '../edge/lazy-protocols.js';
import type { ReplicaRow } from '../ops/dashboard.js';
import { EXIT, type ClientArgs } from './client-args.js';
import { formatPlan, isPlanReply } from './plan-table.js';

/** Output streams, so tests can run the client in-process. */
export interface ClientIo {
  out(text: string): void;
  err(text: string): void;
}

const processIo: ClientIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

class Unreachable extends Error {}

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

/**
 * One call to the balancer over node:http(s). Not fetch: fetch refuses "bad ports" (6000, 6665–6669,
 * 10080, …) that a balancer may well listen on.
 */
function send(
  args: ClientArgs,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: string | undefined,
): Promise<{ status: number; text: string }> {
  const url = new URL(`${args.url}${path}`);
  const requestOf = url.protocol === 'https:' ? https().request : httpRequest;
  return new Promise((resolve, reject) => {
    const req = requestOf(url, { method, headers, timeout: args.timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Unreachable(`no answer in ${args.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function request(args: ClientArgs, method: string, path: string, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (args.token !== undefined) headers.authorization = `Bearer ${args.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let answer: { status: number; text: string };
  try {
    answer = await send(args, method, path, headers, body === undefined ? undefined : JSON.stringify(body));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code ?? (error as Error).message;
    // A balancer whose certificate this machine does not trust (self-signed, a private CA).
    const hint =
      code !== undefined && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code)
        ? ': its certificate is not trusted here; give its CA with NODE_EXTRA_CA_CERTS=ca.pem'
        : code === 'ECONNRESET' && args.url.startsWith('https:')
          ? ': does it speak TLS? (--url http://… if not)'
          : '';
    throw new Unreachable(`cannot reach the balancer at ${args.url}: ${why}${hint}`);
  }
  try {
    return { status: answer.status, body: JSON.parse(answer.text) };
  } catch {
    throw new Unreachable(
      `${args.url}${path} answered ${answer.status} with something that is not ringlb's JSON`,
    );
  }
}

/** `127.0.0.1:40123` from the replica's origin; `-` before it first started. */
function addressOf(row: ReplicaRow): string {
  if (row.origin === null) return '-';
  try {
    return new URL(row.origin).host;
  } catch {
    return row.origin;
  }
}

/** What runs the replica as `ps` or `docker ps` shows it (docker's short id). */
function processOf(row: ReplicaRow): string {
  if (row.pid !== null) return `pid ${row.pid}`;
  if (row.containerId !== null) return `container ${row.containerId.slice(0, 12)}`;
  return '-';
}

function formatTable(rows: readonly ReplicaRow[]): string {
  const header = ['REPLICA', 'STATE', 'ADDRESS', 'PROCESS', 'KEY SHARE', 'REQ/S', 'P99', 'LAST CHECK'];
  const now = Date.now();
  const lines = rows.map((r) => [
    r.name,
    r.state,
    addressOf(r),
    processOf(r),
    `${(r.share * 100).toFixed(1)} %`,
    r.rps === null ? '-' : String(r.rps),
    r.p99Ms === null ? '-' : `${r.p99Ms} ms`,
    r.lastCheck === null
      ? '-'
      : `${r.lastCheck.failure === null ? 'ok' : `failed (${r.lastCheck.failure})`} ${((now - r.lastCheck.at) / 1000).toFixed(1)} s ago`,
  ]);
  const all = [header, ...lines];
  const widths = header.map((_, col) => Math.max(...all.map((line) => line[col]!.length)));
  return (
    all
      .map((line) =>
        line
          .map((cell, col) => cell.padEnd(widths[col]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

function isRows(body: unknown): body is { replicas: ReplicaRow[] } {
  return (
    typeof body === 'object' && body !== null && Array.isArray((body as { replicas?: unknown }).replicas)
  );
}

function failureMessage(args: ClientArgs, answer: Answer): string {
  const message = (answer.body as { message?: unknown })?.message;
  if (typeof message !== 'string') return `the balancer answered ${answer.status}`;
  // The TLS port's answer to plain HTTP: say which --url would work.
  if (answer.status === 400 && message.endsWith('this port speaks TLS: use https://'))
    return `${message} (--url ${args.url.replace(/^http:/, 'https:')})`;
  return message;
}

async function status(args: ClientArgs, io: ClientIo): Promise<number> {
  const answer = await request(args, 'GET', '/dashboard/state');
  if (answer.status !== 200) {
    io.err(`ringlb status: ${failureMessage(args, answer)}\n`);
    return EXIT.refused;
  }
  if (!isRows(answer.body)) throw new Unreachable(`${args.url} did not answer like ringlb`);
  if (args.json) io.out(`${JSON.stringify({ replicas: answer.body.replicas }, null, 2)}\n`);
  else io.out(formatTable(answer.body.replicas));
  return EXIT.ok;
}

async function change(args: ClientArgs, io: ClientIo): Promise<number> {
  const n = args.n ?? Math.max(1, args.names.length);
  const answer = await request(args, 'POST', `/${args.command}`, { n, hostnames: args.names });
  if (answer.status !== 200) {
    io.err(`ringlb ${args.command}: ${failureMessage(args, answer)}\n`);
    return EXIT.refused;
  }
  if (args.json) {
    io.out(`${JSON.stringify(answer.body)}\n`);
    return EXIT.ok;
  }
  return status(args, io);
}

/** `ringlb plan`: the dry run of a change, as a table (or the API's JSON). */
async function plan(args: ClientArgs, io: ClientIo): Promise<number> {
  const { subject, method, path, body } = args.plan!;
  const answer = await request(args, method, path, body);
  if (answer.status !== 200) {
    io.err(`ringlb plan ${subject}: ${failureMessage(args, answer)}\n`);
    return EXIT.refused;
  }
  if (!isPlanReply(answer.body)) throw new Unreachable(`${args.url} did not answer a dry run like ringlb`);
  io.out(args.json ? `${JSON.stringify(answer.body)}\n` : formatPlan(subject, answer.body));
  return EXIT.ok;
}

/** Runs `ringlb status|add|rm|plan`; resolves with the exit code. */
export async function runClient(args: ClientArgs, io: ClientIo = processIo): Promise<number> {
  try {
    if (args.command === 'plan') return await plan(args, io);
    return args.command === 'status' ? await status(args, io) : await change(args, io);
  } catch (error) {
    if (!(error instanceof Unreachable)) throw error;
    io.err(`ringlb ${args.command}: ${error.message}\n`);
    return EXIT.unreachable;
  }
}
