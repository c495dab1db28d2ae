import { failure, type Failure } from '../core/failure.js';
import type { OutlierDetector } from '../health/outlier-detector.js';
import type { Route, RoutingTable } from '../membership/routing-table.js';
import type { AccessLog } from '../ops/access-log.js';
import type { Telemetry } from '../ops/telemetry.js';
import { PER_REQUEST_BUFFER_LIMIT_BYTES } from './replay-buffer.js';
import type { RequestView } from './request-view.js';
import { givenUpStatus, mayRetry, type FailureKind, type Retryable } from './retry-policy.js';

export interface RouterOptions {
  readonly table: () => RoutingTable;
  /** The request's ring key (`--hash-key`). */
  readonly keyOf: (view: RequestView) => number;
  /** Further replicas a request may be tried on (`--retries`). */
  readonly retries: number;
  /** Answer a replica's 404 with the seed's 400 "endpoint does not exist in server replicas". */
  readonly seedNotFound: boolean;
  readonly telemetry: Telemetry;
  readonly accessLog?: AccessLog | undefined;
  readonly outliers: OutlierDetector;
  /**
   * ringlb's own headers for the replica a try goes to (hand-off hints, `key-hints.ts`): given the
   * request's key, the table and the member picked; undefined when none applies. Absent when
   * `--handoff-window` and `--owners-header` are off.
   */
  readonly hints?:
    ((key: number, table: RoutingTable, index: number) => Record<string, string> | undefined) | undefined;
}

/** The methods ringlb proxies (RFC 9110 §9 and RFC 5789's PATCH). */
export const PROXIED_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'OPTIONS',
  'TRACE',
  'PATCH',
]);

/**
 * A method ringlb refuses before routing, the same over every protocol: CONNECT asks for a tunnel
 * that a reverse proxy does not open (405, with `Allow`), and a method it does not know is not
 * implemented (501, RFC 9110 §15.6.2). WebSocket-over-HTTP/2's extended CONNECT is not refused here:
 * its frontend routes it as a WebSocket.
 */
export function methodRefusal(method: string): Failure | undefined {
  if (PROXIED_METHODS.has(method)) return undefined;
  if (method === 'CONNECT') {
    return failure(405, 'CONNECT is not supported: ringlb is a reverse proxy, not a tunnel', {
      allow: [...PROXIED_METHODS].join(', '),
    });
  }
  return failure(501, `the method '${method}' is not implemented`);
}

/** What a frontend tells the router about a request when it starts routing it. */
export interface RouteRequest {
  /** Index into `PROTOCOLS`. */
  readonly protocol: number;
  /** A gRPC call (gRPC's retry rule, gRPC failures). */
  readonly grpc: boolean;
  /** The body (none counts) can be sent again in full if a try fails; frontends may clear it later. */
  readonly bodyReplayable: boolean;
}

/**
 * The one router of the data path. Every request, whatever protocol it came in (HTTP/1.1, HTTP/2,
 * gRPC, WebSocket upgrades), is routed by a `RoutedRequest` from here: its key, the replica for each
 * try over the current ring, the in-flight count that bounded loads read, the retry policy
 * (`retry-policy.ts`), passive health, telemetry and the access log. Frontends only adapt their
 * transport to it, and render its failures with `core/failure.ts`.
 */
export class Router {
  readonly #options: RouterOptions;

  constructor(options: RouterOptions) {
    this.#options = options;
  }

  get options(): RouterOptions {
    return this.#options;
  }

  begin(view: RequestView, request: RouteRequest): RoutedRequest {
    return new RoutedRequest(this.#options, view, request, this.#options.keyOf(view));
  }

  /** A request the balancer refused before routing it (bad head, too large, ...): counted and logged. */
  refused(view: RequestView, protocol: number, status: number, seconds: number): void {
    this.#options.telemetry.requestDone('', status, seconds, protocol);
    this.#options.accessLog?.(view.method, view.target, view.remoteAddress, '', status, seconds);
  }
}

/** One request on its way through the ring, over as many tries as the policy allows. */
export class RoutedRequest implements Retryable {
  readonly #options: RouterOptions;
  readonly view: RequestView;
  readonly key: number;
  readonly protocol: number;
  readonly grpc: boolean;
  /** Cleared by the frontend once the body outgrew what it keeps for another try. */
  bodyReplayable: boolean;
  /** 0 for the first try. */
  attempt = 0;
  readonly started = performance.now();
  #table: RoutingTable | null = null;
  #index = -1;
  #route: Route | undefined;
  #lastFailure = '';
  #lastKind: FailureKind = 'refused';
  /** Whether the policy allowed another try after the last failure. */
  #allowed = true;
  #finished = false;
  /** The replica of the first try, by name; most requests have no other (no array for them). */
  #firstTried: string | undefined;
  /** Replicas of the further tries, by name (null until there is one). */
  #tried: string[] | null = null;

  constructor(options: RouterOptions, view: RequestView, request: RouteRequest, key: number) {
    this.#options = options;
    this.view = view;
    this.key = key;
    this.protocol = request.protocol;
    this.grpc = request.grpc;
    this.bodyReplayable = request.bodyReplayable;
  }

  /** The replica of the current try. */
  get route(): Route | undefined {
    return this.#route;
  }

  /**
   * The replica for the next try, counted in flight on it until the try ends; undefined when there is
   * none, and then `noReplica()` is what to answer.
   */
  pick(): Route | undefined {
    this.#release();
    const table = this.#options.table();
    // The ring may have changed since the last try (that try's failure may have ejected its
    // replica), so the next replica is the first in the key's order not tried yet, not the
    // attempt-th of whatever ring is current.
    for (let order = 0; ; order++) {
      const index = table.ring.pick(this.key, order);
      if (index < 0) {
        this.#route = undefined;
        return undefined;
      }
      const route = table.routes[index]!;
      if (this.#wasTried(route.name)) continue;
      if (this.#firstTried === undefined) this.#firstTried = route.name;
      else (this.#tried ??= []).push(route.name);
      this.#table = table;
      this.#index = index;
      table.loads[index]!++;
      this.#route = route;
      return route;
    }
  }

  #wasTried(name: string): boolean {
    return this.#firstTried === name || (this.#tried !== null && this.#tried.includes(name));
  }

  /** The hint headers for the current try's replica (`RouterOptions.hints`), or undefined. */
  hintHeaders(): Record<string, string> | undefined {
    const hints = this.#options.hints;
    return hints && this.#table !== null ? hints(this.key, this.#table, this.#index) : undefined;
  }

  /** Why `pick()` found no replica. */
  noReplica(): Failure {
    return this.attempt === 0
      ? failure(503, 'no healthy replica is available')
      : failure(502, `no other replica to try; last failure: ${this.#lastFailure}`);
  }

  /**
   * The current replica's response head arrived. Its status feeds passive health (or `health`, a
   * status for it alone; null: `health()` will be called with it later); the returned
   * failure, if any, is what the client gets instead of the replica's response (the seed's 404 rule),
   * and the replica's body is then dropped.
   */
  answered(status: number, health: number | null = status): Failure | undefined {
    if (health !== null) this.health(health);
    if (status === 404 && this.#options.seedNotFound) {
      const target = this.view.target;
      const query = target.indexOf('?');
      const pathname = query < 0 ? target : target.slice(0, query);
      return failure(400, `'${pathname}' endpoint does not exist in server replicas`);
    }
    return undefined;
  }

  /**
   * The current replica's answer for passive health, when `answered` was told to wait for it (a gRPC
   * call's status comes in its trailers): 5xx counts against the replica, anything else for it.
   */
  health(status: number): void {
    const name = this.#route?.name ?? '';
    if (status >= 500) this.#options.outliers.failure(name, `status ${status}`);
    else this.#options.outliers.success(name);
  }

  /**
   * The current try failed. True: pick again (the retry is counted). False: give up, and answer
   * `gaveUp()` unless `responded` (then the client's reply can only be cut off).
   */
  failed(kind: FailureKind, responded: boolean, message: string): boolean {
    const name = this.#route?.name ?? '';
    this.#release();
    // A replica that left the ring while the request waited did nothing wrong.
    if (name !== '' && kind !== 'gone') this.#options.outliers.failure(name, message);
    this.#lastFailure = name === '' ? message : `replica '${name}' failed: ${message}`;
    this.#lastKind = kind;
    this.#allowed = mayRetry(this, { kind, responded });
    if (!this.#allowed || this.attempt >= this.#options.retries) return false;
    this.attempt++;
    this.#options.telemetry.retry(this.protocol);
    return true;
  }

  /** What to answer after `failed()` returned false. */
  gaveUp(): Failure {
    if (this.#lastKind === 'timeout') {
      return failure(504, `replica '${this.#route?.name ?? ''}' did not answer in time`);
    }
    if (!this.#allowed && this.#lastKind !== 'protocol') {
      return failure(
        502,
        this.bodyReplayable
          ? `${this.#lastFailure}, and a ${this.view.method} request is not retried`
          : `${this.#lastFailure}, and the request's body, over ${PER_REQUEST_BUFFER_LIMIT_BYTES} bytes, cannot be sent again`,
      );
    }
    return failure(givenUpStatus(this.#lastKind), this.#lastFailure);
  }

  get method(): string {
    return this.view.method;
  }

  /** The request is over: `status` is what the client got (499: it left first). Counted once. */
  finish(status: number): void {
    if (this.#finished) return;
    this.#finished = true;
    const replica = this.#route?.name ?? '';
    this.#release();
    const seconds = (performance.now() - this.started) / 1000;
    this.#options.telemetry.requestDone(replica, status, seconds, this.protocol);
    const { view } = this;
    this.#options.accessLog?.(view.method, view.target, view.remoteAddress, replica, status, seconds);
  }

  #release(): void {
    if (this.#table !== null) this.#table.loads[this.#index]!--;
    this.#table = null;
  }
}
