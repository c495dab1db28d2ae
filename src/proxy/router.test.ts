import { describe, expect, it } from 'vitest';
import { OutlierDetector } from '../health/outlier-detector.js';
import { buildRoutingTable, type RoutingTable } from '../membership/routing-table.js';
import { noTelemetry, type Telemetry } from '../ops/telemetry.js';
import { RING_DEFAULTS, ringFactory } from '../ring/registry.js';
import { viewOf } from './request-view.js';
import { methodRefusal, Router } from './router.js';

function setup(replicas: number, options: { retries?: number; seedNotFound?: boolean } = {}) {
  const { buildRing } = ringFactory({ ...RING_DEFAULTS, algorithm: 'ketama' });
  const routes = Array.from({ length: replicas }, (_, i) => ({
    name: `Server ${i + 1}`,
    number: i + 1,
    origin: `http://127.0.0.1:${9000 + i}`,
  }));
  let table: RoutingTable = buildRoutingTable(buildRing, routes);
  const events: string[] = [];
  const outliers: string[] = [];
  const telemetry: Telemetry = {
    ...noTelemetry,
    requestDone: (replica, status, _seconds, protocol) =>
      events.push(`done ${replica || '-'} ${status} p${protocol}`),
    retry: (protocol) => events.push(`retry p${protocol}`),
  };
  const logged: string[] = [];
  const router = new Router({
    table: () => table,
    keyOf: (view) => Number(view.header('x-key') ?? 1),
    retries: options.retries ?? 2,
    seedNotFound: options.seedNotFound ?? false,
    telemetry,
    accessLog: (method, target, _remote, replica, status) =>
      logged.push(`${method} ${target} ${replica} ${status}`),
    outliers: new OutlierDetector(2, (replica, reason) => outliers.push(`${replica}: ${reason}`)),
  });
  const begin = (method = 'GET', key = 7, bodyReplayable = true, protocol = 0) =>
    router.begin(viewOf(method, '/x?y=1', { 'x-key': String(key) }, '127.0.0.1'), {
      protocol,
      grpc: false,
      bodyReplayable,
    });
  return {
    router,
    begin,
    events,
    outliers,
    logged,
    table: () => table,
    empty: () => (table = buildRoutingTable(buildRing, [])),
    remove: (name: string) =>
      (table = buildRoutingTable(
        buildRing,
        routes.filter((r) => r.name !== name),
      )),
  };
}

describe('the router', () => {
  it('counts a try in flight on its replica until the try ends, and the request once', () => {
    const { begin, events, logged, table } = setup(3);
    const routed = begin();
    const route = routed.pick()!;
    const index = table().routes.indexOf(route);
    expect(table().loads[index]).toBe(1);
    expect(routed.answered(200)).toBeUndefined();
    routed.finish(200);
    routed.finish(200);
    expect(table().loads[index]).toBe(0);
    expect(events).toEqual([`done ${route.name} 200 p0`]);
    expect(logged).toEqual([`GET /x?y=1 ${route.name} 200`]);
  });

  it('tries the next replica of the key after a reset, counting the retry under its protocol', () => {
    const { begin, events, table } = setup(3);
    const routed = begin('PUT', 7, true, 1);
    const first = routed.pick()!;
    expect(routed.failed('reset', false, 'ECONNRESET')).toBe(true);
    const second = routed.pick()!;
    expect(second.name).not.toBe(first.name);
    expect([...table().loads]).toEqual(table().routes.map((r) => (r === second ? 1 : 0)));
    routed.finish(200);
    expect(events).toEqual(['retry p1', `done ${second.name} 200 p1`]);
  });

  it('does not retry a POST the replica may have seen, and says why', () => {
    const { begin, events } = setup(3);
    const routed = begin('POST');
    const route = routed.pick()!;
    expect(routed.failed('reset', false, 'ECONNRESET')).toBe(false);
    const f = routed.gaveUp();
    expect(f.status).toBe(502);
    expect(f.message).toBe(`replica '${route.name}' failed: ECONNRESET, and a POST request is not retried`);
    routed.finish(f.status);
    expect(events).toEqual([`done ${route.name} 502 p0`]);
  });

  it('does not retry a PUT whose body was not kept', () => {
    const { begin } = setup(3);
    const routed = begin('PUT', 7, false);
    routed.pick();
    expect(routed.failed('reset', false, 'ECONNRESET')).toBe(false);
    expect(routed.gaveUp().message).toMatch(/the request's body, over 65536 bytes, cannot be sent again$/);
  });

  it('stops after --retries further tries, then answers with the last failure', () => {
    const { begin, events } = setup(5, { retries: 2 });
    const routed = begin();
    const names = new Set<string>();
    for (let i = 0; i < 3; i++) {
      names.add(routed.pick()!.name);
      const again = routed.failed('refused', false, 'ECONNREFUSED');
      expect(again).toBe(i < 2);
    }
    expect(names.size).toBe(3);
    expect(routed.gaveUp()).toMatchObject({ status: 502 });
    expect(events.filter((e) => e.startsWith('retry'))).toHaveLength(2);
  });

  it('answers 504 when the replica did not answer in time', () => {
    const { begin } = setup(1, { retries: 0 });
    const routed = begin();
    const route = routed.pick()!;
    expect(routed.failed('timeout', false, 'replica did not answer in time')).toBe(false);
    expect(routed.gaveUp()).toEqual({
      status: 504,
      message: `replica '${route.name}' did not answer in time`,
    });
  });

  it('says 503 (with Retry-After through the renderers) when no replica is there, 502 when none is left', () => {
    const { begin, empty } = setup(1);
    const alone = begin();
    alone.pick();
    expect(alone.failed('refused', false, 'ECONNREFUSED')).toBe(true);
    expect(alone.pick()).toBeUndefined();
    expect(alone.noReplica().status).toBe(502);
    empty();
    const none = begin();
    expect(none.pick()).toBeUndefined();
    expect(none.noReplica()).toEqual({ status: 503, message: 'no healthy replica is available' });
  });

  it("replaces a replica's 404 with the seed's 400 when asked to", () => {
    const { begin } = setup(2, { seedNotFound: true });
    const routed = begin();
    routed.pick();
    expect(routed.answered(404)).toEqual({
      status: 400,
      message: "'/x' endpoint does not exist in server replicas",
    });
    expect(setup(2).begin().answered(404)).toBeUndefined();
  });

  it('reports failures and 5xx to passive health, but not a replica that left the ring', () => {
    const { begin, outliers } = setup(1, { retries: 0 });
    for (let i = 0; i < 3; i++) {
      const routed = begin();
      routed.pick();
      routed.failed('gone', false, 'the replica left the ring');
    }
    expect(outliers).toEqual([]);
    const a = begin();
    a.pick();
    a.answered(503);
    const b = begin();
    b.pick();
    b.failed('reset', false, 'ECONNRESET');
    expect(outliers).toEqual(['Server 1: 2 failed requests in a row (last: ECONNRESET)']);
  });

  it('refuses CONNECT with 405 and Allow, unknown methods with 501, and lets the rest through', () => {
    for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'PATCH']) {
      expect(methodRefusal(method)).toBeUndefined();
    }
    expect(methodRefusal('CONNECT')).toMatchObject({
      status: 405,
      headers: { allow: 'GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE, PATCH' },
    });
    expect(methodRefusal('FOO')).toEqual({ status: 501, message: "the method 'FOO' is not implemented" });
    expect(methodRefusal('get')?.status).toBe(501);
  });

  it('after a failure that took its replica out of the ring, tries a replica not tried yet', () => {
    const { begin, table, remove } = setup(2);
    const routed = begin();
    const first = routed.pick()!;
    expect(routed.failed('refused', false, 'ECONNREFUSED')).toBe(true);
    // Passive health ejected the first replica: the ring now holds only the other one.
    remove(first.name);
    const second = routed.pick();
    expect(second).toBeDefined();
    expect(second!.name).not.toBe(first.name);
    expect(table().routes).toHaveLength(1);
    // And a replica is never tried twice, whatever the ring does.
    expect(routed.failed('refused', false, 'ECONNREFUSED')).toBe(true);
    expect(routed.pick()).toBeUndefined();
  });
});
