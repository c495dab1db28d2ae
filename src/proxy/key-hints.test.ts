import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { buildRoutingTable, type Route, type RoutingTable } from '../membership/routing-table.js';
import { unbounded } from '../ring/bounded/bounded-load-ring.js';
import { movedFraction, MOVED_SAMPLE_KEYS } from '../ring/moved.js';
import { RING_ALGORITHMS, RING_DEFAULTS, ringFactory, type RingSettings } from '../ring/registry.js';
import {
  hintHeaders,
  keyHints,
  ownersHint,
  previousOwnerHint,
  replicaLabel,
  RingHistory,
  withHintFields,
} from './key-hints.js';

const route = (number: number, name = `Server ${number}`): Route => ({
  name,
  number,
  origin: `http://127.0.0.1:${4000 + number}`,
});

const SETTINGS: RingSettings[] = [
  ...RING_ALGORITHMS.map((algorithm) => ({ ...RING_DEFAULTS, algorithm })),
  { ...RING_DEFAULTS, algorithm: 'ketama', balanceFactor: 1.25 },
];

function table(settings: RingSettings, routes: Route[]): RoutingTable {
  return buildRoutingTable(ringFactory(settings).buildRing, routes);
}

function owner(t: RoutingTable, key: number): number {
  return unbounded(t.ring).pick(key);
}

describe.each(SETTINGS)('hand-off hints on $algorithm (balance factor $balanceFactor)', (settings) => {
  const three = [route(1), route(2), route(3)];
  const before = table(settings, three);
  const added = table(settings, [...three, route(4, 'S4')]);
  const removed = table(settings, [route(1), route(3)]);

  it('after a change, exactly the keys that changed owner name their previous owner', () => {
    const previous = { ring: unbounded(before.ring) };
    let hinted = 0;
    const wrong: number[] = [];
    for (let key = 0; key < MOVED_SAMPLE_KEYS; key++) {
      const target = owner(added, key);
      const hint = previousOwnerHint(key, target, added, previous);
      const from = before.routes[owner(before, key)]!;
      const expected =
        from.name === added.routes[target]!.name ? undefined : replicaLabel(from.name, from.origin);
      if (hint !== expected) wrong.push(key);
      if (hint !== undefined) hinted++;
    }
    expect(wrong).toEqual([]);
    // As many keys carry a hint as the change moved.
    expect(hinted / MOVED_SAMPLE_KEYS).toBe(movedFraction(before.ring, added.ring));
    expect(hinted).toBeGreaterThan(0);
  });

  it('names no replica that left the ring: there is no one to ask', () => {
    const previous = { ring: unbounded(before.ring) };
    let hinted = 0;
    for (let key = 0; key < 20_000; key++) {
      const target = owner(removed, key);
      const hint = previousOwnerHint(key, target, removed, previous);
      if (hint === undefined) continue;
      hinted++;
      const from = before.routes[owner(before, key)]!;
      expect(hint).toBe(replicaLabel(from.name, from.origin));
      expect(from.name).not.toBe('Server 2');
    }
    // Server 2's keys moved, but it is gone: on a minimal-disruption ring no other key moved.
    if (settings.algorithm === 'ketama' || settings.algorithm === 'rendezvous') expect(hinted).toBe(0);
  });

  it('a request sent elsewhere than the owner (a retry, bounded loads) names the owner before the change', () => {
    const previous = { ring: unbounded(before.ring) };
    for (let key = 0; key < 2_000; key++) {
      const next = unbounded(added.ring).pick(key, 1);
      const from = before.routes[owner(before, key)]!;
      const hint = previousOwnerHint(key, next, added, previous);
      expect(hint).toBe(
        from.name === added.routes[next]!.name ? undefined : replicaLabel(from.name, from.origin),
      );
    }
  });

  it('gives no hint without a previous ring, or on an empty ring', () => {
    expect(previousOwnerHint(42, owner(added, 42), added, undefined)).toBeUndefined();
    const empty = table(settings, []);
    expect(previousOwnerHint(42, -1, empty, { ring: before.ring })).toBeUndefined();
    expect(previousOwnerHint(42, owner(added, 42), added, { ring: empty.ring })).toBeUndefined();
    expect(ownersHint(42, empty, 3)).toBeUndefined();
  });

  it('lists K distinct owners in the ring order, owner first, at most every replica', () => {
    for (let key = 0; key < 5_000; key += 7) {
      const list = ownersHint(key, added, 3)!.split(', ');
      expect(list).toHaveLength(3);
      expect(new Set(list).size).toBe(3);
      const ring = unbounded(added.ring);
      expect(list).toEqual(
        [0, 1, 2].map((a) => {
          const r = added.routes[ring.pick(key, a)]!;
          return replicaLabel(r.name, r.origin);
        }),
      );
      expect(list[0]).toBe(
        replicaLabel(added.routes[owner(added, key)]!.name, added.routes[owner(added, key)]!.origin),
      );
      expect(ownersHint(key, added, 1)).toBe(list[0]);
      expect(ownersHint(key, added, 9)!.split(', ')).toHaveLength(4);
    }
    expect(ownersHint(1, added, 0)).toBeUndefined();
  });

  it('keyHints puts both together, each only when it applies', () => {
    const previous = { ring: unbounded(before.ring) };
    let both = 0;
    for (let key = 0; key < 3_000; key++) {
      const target = owner(added, key);
      const hints = keyHints(key, target, added, previous, 2);
      expect(hints.owners).toBe(ownersHint(key, added, 2));
      expect(hints.previousOwner).toBe(previousOwnerHint(key, target, added, previous));
      if (hints.previousOwner) both++;
      expect(keyHints(key, target, added, undefined, 0)).toEqual({});
    }
    expect(both).toBeGreaterThan(0);
  });
});

describe('RingHistory: the previous ring, for the hand-off window', () => {
  const settings = { ...RING_DEFAULTS, algorithm: 'ketama' as const };
  const first = table(settings, [route(1), route(2)]);
  const second = table(settings, [route(1), route(2), route(3)]);

  it('keeps the ring from before a change for the window, then drops it', async () => {
    const history = new RingHistory(80);
    expect(history.previous).toBeUndefined();
    history.changed(first);
    expect(history.previous?.ring.members.map((m) => m.name)).toEqual(['Server 1', 'Server 2']);
    await sleep(160);
    expect(history.previous).toBeUndefined();
    history.close();
  });

  it('keeps the ring from before the first change of a burst, and the window runs from the last', async () => {
    const history = new RingHistory(150);
    history.changed(first);
    await sleep(100);
    history.changed(second);
    expect(history.previous?.ring.members).toHaveLength(2);
    await sleep(100);
    // 200 ms after the first change, 100 ms after the last: still open.
    expect(history.previous?.ring.members).toHaveLength(2);
    await sleep(150);
    expect(history.previous).toBeUndefined();
    history.changed(second);
    expect(history.previous?.ring.members).toHaveLength(3);
    history.close();
    expect(history.previous).toBeUndefined();
  });

  it('opens no window when it is 0, or when the ring was empty', () => {
    const off = new RingHistory(0);
    off.changed(first);
    expect(off.previous).toBeUndefined();
    const history = new RingHistory(1_000);
    history.changed(table(settings, []));
    expect(history.previous).toBeUndefined();
    history.close();
  });
});

describe('hintHeaders and withHintFields: what a frontend sends', () => {
  const settings = { ...RING_DEFAULTS, algorithm: 'ketama' as const };
  const before = table(settings, [route(1), route(2), route(3)]);
  const after = table(settings, [route(1), route(2), route(3), route(4)]);

  it('gives nothing, not an empty set, outside a window and without --owners-header', () => {
    for (let key = 0; key < 500; key++)
      expect(hintHeaders(key, owner(after, key), after, undefined, 0)).toBeUndefined();
    // In a window, a key that did not move has nothing either.
    const previous = { ring: unbounded(before.ring) };
    let stayed = 0;
    for (let key = 0; key < 500; key++) {
      const got = hintHeaders(key, owner(after, key), after, previous, 0);
      if (got === undefined) stayed++;
      else expect(Object.keys(got)).toEqual(['x-ringlb-previous-owner']);
    }
    expect(stayed).toBeGreaterThan(0);
    expect(stayed).toBeLessThan(500);
  });

  it('adds the fields before the blank line of an HTTP/1.1 head, and leaves the head given untouched', () => {
    const head = Buffer.from('GET /x HTTP/1.1\r\nhost: a\r\nx-forwarded-proto: http\r\n\r\n', 'latin1');
    const copy = Buffer.from(head);
    const out = withHintFields(head, {
      'x-ringlb-previous-owner': 'Server 2 http://127.0.0.1:4002',
      'x-ringlb-owners': 'S4 http://h:1',
    });
    expect(out.toString('latin1')).toBe(
      'GET /x HTTP/1.1\r\nhost: a\r\nx-forwarded-proto: http\r\n' +
        'x-ringlb-previous-owner: Server 2 http://127.0.0.1:4002\r\nx-ringlb-owners: S4 http://h:1\r\n\r\n',
    );
    expect(head.equals(copy)).toBe(true);
    expect(withHintFields(head, {}).equals(head)).toBe(true);
  });

  it('adds them before the blank line of a head that has its body behind it, the body untouched', () => {
    const head = 'POST /x HTTP/1.1\r\nhost: a\r\ncontent-length: 8\r\n\r\n';
    const request = Buffer.from(`${head}\r\n\r\nbody`, 'latin1');
    const out = withHintFields(request, { 'x-ringlb-owners': 'S4 http://h:1' }, head.length);
    expect(out.toString('latin1')).toBe(
      'POST /x HTTP/1.1\r\nhost: a\r\ncontent-length: 8\r\nx-ringlb-owners: S4 http://h:1\r\n\r\n\r\n\r\nbody',
    );
  });
});
