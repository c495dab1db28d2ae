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

async function request(args: ClientArgs, method: string, path: string, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (args.token !== undefined) headers.authorization = `Bearer ${args.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  let text: string;
  try {
    response = await fetch(`${args.url}${path}`, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      signal: AbortSignal.timeout(args.timeoutMs),
    });
    text = await response.text();
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why =
      (error as Error).name === 'TimeoutError'
        ? `no answer in ${args.timeoutMs} ms`
        : (cause?.code ?? cause?.message ?? (error as Error).message);
    throw new Unreachable(`cannot reach the balancer at ${args.url}: ${why}`);
  }
  try {
    return { status: response.status, body: JSON.parse(text) };
  } catch {
    throw new Unreachable(
      `${args.url}${path} answered ${response.status} with something that is not ringlb's JSON`,
    );
  }
}

function formatTable(rows: readonly ReplicaRow[]): string {
  const header = ['REPLICA', 'STATE', 'KEY SHARE', 'REQ/S', 'P99', 'LAST CHECK'];
  const now = Date.now();
  const lines = rows.map((r) => [
    r.name,
    r.state,
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

function failureMessage(answer: Answer): string {
  const message = (answer.body as { message?: unknown })?.message;
  return typeof message === 'string' ? message : `the balancer answered ${answer.status}`;
}

async function status(args: ClientArgs, io: ClientIo): Promise<number> {
  const answer = await request(args, 'GET', '/dashboard/state');
  if (answer.status !== 200) {
    io.err(`ringlb status: ${failureMessage(answer)}\n`);
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
    io.err(`ringlb ${args.command}: ${failureMessage(answer)}\n`);
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
    io.err(`ringlb plan ${subject}: ${failureMessage(answer)}\n`);
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
