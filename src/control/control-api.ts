import type { IncomingMessage, ServerResponse } from 'node:http';
import { RinglbError, seedMessage } from '../core/errors.js';
import { sendFailure, sendJson } from '../core/json-response.js';
import type { Membership as DesiredMembership } from '../membership/membership.js';
import type { ReplicaRow } from '../ops/dashboard.js';
import { CONTROL_ROUTES as ROUTES, REPLICA_PREFIX } from './control-paths.js';
import { parseControlQuery } from './control-query.js';
import { previewReply, takePreviewKeys, type KeyOfText } from './preview.js';
import { readBody } from './read-body.js';
import { parseAddBody, parseBodyText, parseRemoveBody, parseWeightBody } from './validation.js';

/** What the control API changes: the desired set (in memory, in etcd, or in a cluster engine). */
export type Membership = Pick<
  DesiredMembership,
  'add' | 'remove' | 'names' | 'previewAdd' | 'previewRemove' | 'setWeight' | 'previewWeight'
>;

function allowedMethods(pathname: string): readonly string[] {
  return pathname.startsWith(REPLICA_PREFIX) ? ['PUT'] : ROUTES[pathname]!;
}

/** The replica a `/replicas/<name>` path names (percent-decoded), refused when it names none. */
function replicaName(pathname: string): string {
  let name: string;
  try {
    name = decodeURIComponent(pathname.slice(REPLICA_PREFIX.length));
  } catch {
    name = '';
  }
  if (name === '' || name.includes('/')) {
    throw new RinglbError(
      'ERR_INVALID_BODY',
      seedMessage(`'${pathname}' names no replica: use /replicas/<name>, e.g. /replicas/Server%201`),
    );
  }
  return name;
}

function previewRemoval(cluster: Membership, body: unknown) {
  const change = parseRemoveBody(body);
  return cluster.previewRemove(change.n, change.hostnames);
}

function replicasBody(cluster: Membership) {
  const replicas = cluster.names();
  return { message: { N: replicas.length, replicas }, status: 'successful' };
}

/** `GET /rep?verbose=1`: the seed's reply, and beside its names each replica's row of the dashboard. */
function verboseReplicasBody(cluster: Membership, rows: readonly ReplicaRow[]) {
  const body = replicasBody(cluster);
  return { ...body, message: { ...body.message, details: rows } };
}

export interface ControlSources {
  readonly membership: Membership;
  readonly keyOfText: KeyOfText;
  /** Each replica as the dashboard shows it (address, process, state, last check, load). */
  readonly replicaRows: () => readonly ReplicaRow[];
}

/** Serves `/rep`, `/add` and `/rm`; every failure is the seed's JSON failure body. */
export async function handleControl(
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  sources: ControlSources,
): Promise<void> {
  const { membership: cluster, keyOfText } = sources;
  const allowed = allowedMethods(pathname);
  const method = req.method ?? 'GET';
  try {
    if (!allowed.includes(method)) {
      req.resume();
      throw new RinglbError(
        'ERR_METHOD_NOT_ALLOWED',
        seedMessage(`method ${method} is not allowed on ${pathname}; use ${allowed.join(' or ')}`),
        405,
      );
    }
    const query = parseControlQuery(req.url ?? '/', pathname === '/rep' ? ['verbose'] : ['dry_run']);
    if (pathname === '/rep') {
      req.resume();
      const body = query.verbose
        ? verboseReplicasBody(cluster, sources.replicaRows())
        : replicasBody(cluster);
      sendJson(res, 200, body);
      return;
    }
    const text = await readBody(req);
    if (pathname.startsWith(REPLICA_PREFIX)) {
      const name = replicaName(pathname);
      const { body, keys } = query.dryRun
        ? takePreviewKeys(parseBodyText(text), keyOfText)
        : { body: parseBodyText(text), keys: [] };
      const weight = parseWeightBody(body);
      const message = { name, weight };
      if (query.dryRun) {
        sendJson(res, 200, previewReply(await cluster.previewWeight(name, weight), keys, message));
      } else {
        const moved = await cluster.setWeight(name, weight);
        sendJson(res, 200, { message, status: 'successful', moved });
      }
      return;
    }
    if (query.dryRun) {
      const { body, keys } = takePreviewKeys(parseBodyText(text), keyOfText);
      const preview =
        pathname === '/add'
          ? await cluster.previewAdd(parseAddBody(body))
          : await previewRemoval(cluster, body);
      sendJson(res, 200, previewReply(preview, keys));
      return;
    }
    const body = parseBodyText(text);
    let moved: number;
    if (pathname === '/add') {
      const change = parseAddBody(body);
      moved = await cluster.add(change);
    } else {
      const change = parseRemoveBody(body);
      moved = await cluster.remove(change.n, change.hostnames);
    }
    // `moved` (beside the seed's fields): the fraction of the key space that changed replica.
    sendJson(res, 200, { ...replicasBody(cluster), moved });
  } catch (error) {
    sendFailure(
      res,
      error,
      error instanceof RinglbError && error.status === 405 ? { allow: allowed.join(', ') } : {},
    );
  }
}
