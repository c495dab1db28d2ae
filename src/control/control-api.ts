import type { IncomingMessage, ServerResponse } from 'node:http';
import { RinglbError, seedMessage } from '../core/errors.js';
import { sendFailure, sendJson } from '../core/json-response.js';
import type { Membership as DesiredMembership } from '../membership/membership.js';

/** What the control API changes: the desired set (in memory, in etcd, or in a cluster engine). */
export type Membership = Pick<DesiredMembership, 'add' | 'remove' | 'names'>;
import { readBody } from './read-body.js';
import { parseAddBody, parseBodyText, parseRemoveBody } from './validation.js';

/** The seed's control endpoints and the methods each accepts. */
const ROUTES: Record<string, readonly string[]> = {
  '/rep': ['GET', 'HEAD'],
  '/add': ['POST'],
  '/rm': ['POST', 'DELETE'],
};

export function isControlPath(pathname: string): boolean {
  return Object.hasOwn(ROUTES, pathname);
}

function replicasBody(cluster: Membership) {
  const replicas = cluster.names();
  return { message: { N: replicas.length, replicas }, status: 'successful' };
}

/** Serves `/rep`, `/add` and `/rm`; every failure is the seed's JSON failure body. */
export async function handleControl(
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  cluster: Membership,
): Promise<void> {
  const allowed = ROUTES[pathname]!;
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
    if (pathname === '/rep') {
      req.resume();
      sendJson(res, 200, replicasBody(cluster));
      return;
    }
    const body = parseBodyText(await readBody(req));
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
