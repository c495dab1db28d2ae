import { createRequire } from 'node:module';
import type { Campaign, Etcd3, IKeyValue, Watcher } from 'etcd3';
import type { Logger } from 'pino';
import { RinglbError, seedMessage } from '../../core/errors.js';
import { retryUntil } from '../../core/retry-until.js';
import type { RingSettings } from '../../ring/registry.js';
import type { DesiredSet } from '../desired-set.js';
import type { DesiredStore, StoredDesired } from '../desired-store.js';
import { decodeDesired, decodeRegistryEntry, encodeDesired, type RegistryEntry } from './encoding.js';

/**
 * etcd3 (with grpc-js and protobufjs) costs ~16 MB of RSS once loaded: it is required the first time
 * a store is made, so that a balancer without `--membership etcd` never pays for it.
 */
function loadEtcd3(): typeof import('etcd3') {
  return createRequire(import.meta.url)('etcd3') as typeof import('etcd3');
}

/** The module etcd3 itself loads (its gRPC, its backoff), so that what we hand it is of its kind. */
function fromEtcd3<T>(name: string): T {
  return createRequire(createRequire(import.meta.url).resolve('etcd3'))(name) as T;
}

/**
 * A watch that failed reconnects after 100 ms, doubling up to 1 s (etcd3's default grows to 30 s):
 * after an etcd outage, members answer "no leader" for a moment before one is elected, and each
 * refusal would otherwise double the wait before the next try (an instance missed the first change
 * after a restart of the whole etcd cluster by more than 20 s).
 */
function watchBackoff(): unknown {
  const { ExponentialBackoff } = fromEtcd3<typeof import('cockatiel')>('cockatiel');
  return new ExponentialBackoff({ initialDelay: 100, maxDelay: 1_000 });
}

/**
 * Each member's circuit breaker opens after 3 refusals in a row, as etcd3's own does, but lets a
 * request through again after 500 ms rather than 5 s. During an election every member refuses ("no
 * leader") for about a second, and breakers shut for 5 s made a balancer starting then give up
 * ("the circuit breaker is open") although etcd had its leader again.
 */
function hostBreaker(): unknown {
  const { circuitBreaker, handleWhen, ConsecutiveBreaker } =
    fromEtcd3<typeof import('cockatiel')>('cockatiel');
  const { isRecoverableError } = loadEtcd3();
  return circuitBreaker(handleWhen(isRecoverableError), {
    halfOpenAfter: 500,
    breaker: new ConsecutiveBreaker(3),
  });
}

/**
 * Every call and stream carries etcd's "require leader" metadata (`hasleader: true`, what etcd's own
 * Go client sets with `WithRequireLeader`): a member cut off from the others, which has no leader,
 * then refuses at once with "no leader" (gRPC UNAVAILABLE), so the client goes on to another member
 * instead of waiting on one that cannot answer. Without it, an instance whose client picked the
 * minority member got a 503 for every change although the majority was up, and a leader's lease
 * kept alive through that member never failed, so it went on leading beside a new leader.
 */
function requireLeader(): { interceptors: unknown[] } {
  const grpc = fromEtcd3<typeof import('@grpc/grpc-js')>('@grpc/grpc-js');
  const interceptor = (options: unknown, nextCall: (options: unknown) => unknown) =>
    new grpc.InterceptingCall(nextCall(options) as never, {
      start(metadata, listener, next) {
        metadata.set('hasleader', 'true');
        next(metadata, listener);
      },
    });
  return { interceptors: [interceptor] };
}

/** How long a store call may take before the balancer answers that the store is unavailable. */
const CALL_TIMEOUT_MS = 2_000;
const CONFLICT_RETRIES = 20;
/** How soon a request refused for want of a leader is sent again (etcd elects in about a second). */
const NO_LEADER_RETRY_MS = 100;

/**
 * A request refused before any member took it, for a reason that passes within an election: a
 * member without a leader (gRPC UNAVAILABLE, "etcdserver: no leader"), or every member's breaker
 * open after such refusals (hostBreaker).
 */
function isElectionRefusal(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const { BrokenCircuitError } = fromEtcd3<typeof import('cockatiel')>('cockatiel');
  return error.message.includes('etcdserver: no leader') || error instanceof BrokenCircuitError;
}

/**
 * Shared membership in etcd, under `/<cluster>/`: `desired` (one JSON value: name → number),
 * `registry/<name>` (where the replica runs: origin, pid) and `leader` (the election). The desired
 * set is written by compare-and-swap on the revision read, so concurrent writers never lose an
 * update nor give one number to two replicas.
 */
export class EtcdStore implements DesiredStore {
  readonly kind = 'etcd';
  readonly holdsWeights = true;
  readonly #client: Etcd3;
  readonly #prefix: string;
  readonly #logger: Logger;
  #campaign: Campaign | undefined;
  #closed = false;

  constructor(endpoints: readonly string[], cluster: string, logger: Logger) {
    this.#client = new (loadEtcd3().Etcd3)({
      hosts: [...endpoints],
      dialTimeout: CALL_TIMEOUT_MS,
      grpcOptions: requireLeader() as never,
      faultHandling: { host: () => hostBreaker() as never, watchBackoff: watchBackoff() as never },
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + CALL_TIMEOUT_MS }),
    });
    this.#prefix = `/${cluster}/`;
    this.#logger = logger;
  }

  get #desiredKey(): string {
    return `${this.#prefix}desired`;
  }

  /** The desired set with its revision, or undefined if no instance has written one yet. */
  async read(): Promise<StoredDesired | undefined> {
    const response = await this.#call(() => this.#client.get(this.#desiredKey).exec());
    const kv = response.kvs[0];
    return kv ? { set: decodeDesired(kv.value.toString()), revision: Number(kv.mod_revision) } : undefined;
  }

  /**
   * Applies `change` to the set as it is in the store (undefined: none yet) and writes the result
   * if nobody wrote in between; otherwise reads again and retries. `change` may throw to refuse.
   */
  async update(change: (current: DesiredSet | undefined) => DesiredSet): Promise<StoredDesired> {
    for (let attempt = 0; attempt < CONFLICT_RETRIES; attempt++) {
      const response = await this.#call(() => this.#client.get(this.#desiredKey).exec());
      const kv = response.kvs[0];
      const next = change(kv ? decodeDesired(kv.value.toString()) : undefined);
      const txn = kv
        ? this.#client.if(this.#desiredKey, 'Mod', '==', kv.mod_revision)
        : this.#client.if(this.#desiredKey, 'Create', '==', 0);
      const result = await this.#call(() =>
        txn.then(this.#client.put(this.#desiredKey).value(encodeDesired(next))).commit(),
      );
      if (result.succeeded) return { set: next, revision: Number(result.header.revision) };
    }
    throw new RinglbError(
      'ERR_STORE_UNAVAILABLE',
      seedMessage('membership store unavailable: too many concurrent changes, try again'),
      503,
    );
  }

  /**
   * The ring settings of the cluster: the first instance's are stored (a transaction, so one wins);
   * every instance gets the stored ones back, to refuse to route differently.
   */
  async claimRing(settings: RingSettings): Promise<RingSettings> {
    const key = `${this.#prefix}ring`;
    const result = await this.#call(() =>
      this.#client
        .if(key, 'Create', '==', 0)
        .then(this.#client.put(key).value(JSON.stringify(settings)))
        .else(this.#client.get(key))
        .commit(),
    );
    if (result.succeeded) return settings;
    const kv = result.responses[0]?.response_range?.kvs[0];
    if (!kv) throw new Error('the stored ring settings vanished while being read');
    return JSON.parse(kv.value.toString()) as RingSettings;
  }

  /** Where the leader's replicas run (process provider), with the store's revision at the read. */
  async readRegistry(): Promise<{ entries: Map<string, RegistryEntry>; revision: number }> {
    const response = await this.#call(() => this.#client.getAll().prefix(this.#registryPrefix).exec());
    const entries = new Map<string, RegistryEntry>();
    for (const kv of response.kvs) {
      const entry = decodeRegistryEntry(kv.value.toString(), Number(kv.mod_revision));
      if (entry) entries.set(kv.key.toString().slice(this.#registryPrefix.length), entry);
    }
    return { entries, revision: Number(response.header.revision) };
  }

  /** Records where a replica runs (address, pid, and the host the pid belongs to); resolves with the entry's revision. */
  async register(name: string, origin: string, pid: number, host: string): Promise<number> {
    const value = JSON.stringify({ origin, pid, host });
    const response = await this.#call(() =>
      this.#client
        .put(this.#registryPrefix + name)
        .value(value)
        .exec(),
    );
    return Number(response.header.revision);
  }

  async unregister(name: string): Promise<void> {
    await this.#call(() =>
      this.#client
        .delete()
        .key(this.#registryPrefix + name)
        .exec(),
    );
  }

  /** Removes everything of this cluster (`ringlb down`). */
  async clear(): Promise<void> {
    await this.#call(() => this.#client.delete().prefix(this.#prefix).exec());
  }

  /** Reports every desired set written after `revision`; the watcher reconnects by itself. */
  async watch(revision: number, listener: (state: StoredDesired) => void): Promise<void> {
    const watcher = await this.#client
      .watch()
      .key(this.#desiredKey)
      .startRevision(String(revision + 1))
      .create();
    watcher.on('put', (kv) =>
      listener({ set: decodeDesired(kv.value.toString()), revision: Number(kv.mod_revision) }),
    );
    // A watch that comes back after the whole cluster was down may resume late or miss a put: read the
    // set once on every reconnect (the listener ignores revisions it has already applied).
    watcher.on('connected', () => {
      this.read().then(
        (state) => state && listener(state),
        (error: Error) =>
          this.#logger.warn({ err: error.message }, 'membership store: read after reconnect failed'),
      );
    });
    this.#report(watcher, 'desired set');
  }

  /** Reports every registry change after `revision`. */
  async watchRegistry(
    revision: number,
    listener: (name: string, entry: RegistryEntry | undefined) => void,
  ): Promise<void> {
    const watcher = await this.#client
      .watch()
      .prefix(this.#registryPrefix)
      .startRevision(String(revision + 1))
      .create();
    const onChange = (kv: IKeyValue, deleted: boolean) =>
      listener(
        kv.key.toString().slice(this.#registryPrefix.length),
        deleted ? undefined : decodeRegistryEntry(kv.value.toString(), Number(kv.mod_revision)),
      );
    watcher.on('put', (kv) => onChange(kv, false));
    watcher.on('delete', (kv) => onChange(kv, true));
    this.#report(watcher, 'registry');
  }

  #report(watcher: Watcher, what: string): void {
    watcher.on('disconnected', () => this.#logger.warn(`membership store: ${what} watch disconnected`));
    watcher.on('connected', () => this.#logger.info(`membership store: ${what} watch connected`));
    watcher.on('error', (error) =>
      this.#logger.warn({ err: error.message }, `membership store: ${what} watch error`),
    );
  }

  /**
   * Campaigns for leadership with a lease of `ttlSeconds`: `elected` when this instance wins,
   * `lost` when its campaign fails (lease lost, store gone); it then campaigns again.
   */
  campaign(id: string, ttlSeconds: number, on: { elected(): void; lost(): void }): void {
    if (this.#closed) return;
    const campaign = this.#client.election(`${this.#prefix}leader`, ttlSeconds).campaign(id);
    this.#campaign = campaign;
    campaign.on('elected', () => on.elected());
    campaign.on('error', (error) => {
      this.#logger.warn({ err: error.message }, 'membership store: campaign failed; campaigning again');
      on.lost();
      if (this.#campaign === campaign) {
        const timer = setTimeout(() => this.campaign(id, ttlSeconds, on), 1_000);
        timer.unref();
      }
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const campaign = this.#campaign;
    this.#campaign = undefined;
    if (campaign) await Promise.race([campaign.resign().catch(() => undefined), sleepMs(1_000)]);
    this.#client.close();
  }

  get #registryPrefix(): string {
    return `${this.#prefix}registry/`;
  }

  /**
   * Every store call: bounded in time, and any failure is the same 503 to the client. A member that
   * has no leader (an election under way: after a partition heals, or a member restarts) refuses a
   * request before taking it, so the request is sent again every NO_LEADER_RETRY_MS within the same
   * bound: an election of etcd's does not fail a balancer's start or a change, while a member cut
   * off with a minority still answers 503 after CALL_TIMEOUT_MS.
   */
  async #call<T>(operation: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + CALL_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${CALL_TIMEOUT_MS} ms`)), CALL_TIMEOUT_MS);
    });
    const attempts = retryUntil(
      operation,
      isElectionRefusal,
      deadline,
      NO_LEADER_RETRY_MS,
      () => this.#closed,
    );
    try {
      return await Promise.race([attempts, timeout]);
    } catch (error) {
      throw new RinglbError(
        'ERR_STORE_UNAVAILABLE',
        seedMessage(`membership store unavailable: ${(error as Error).message}`),
        503,
      );
    } finally {
      clearTimeout(timer);
    }
  }
}

function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
