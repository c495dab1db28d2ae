import type { Logger } from 'pino';
import type { EtcdStore } from './store/etcd-store.js';

/**
 * Whether this instance may start and stop replicas. One balancer always may; in a shared cluster
 * only the elected leader does, so that replicas are started once, not once per instance.
 */
export interface LeadershipGate {
  readonly leading: boolean;
  /** Told every time the gate opens (true) or closes (false). */
  onChange(listener: (leading: boolean) => void): void;
  start(): void;
  close(): Promise<void>;
}

/** The gate of a balancer alone: always open. */
export function soleLeadership(): LeadershipGate {
  return { leading: true, onChange() {}, start() {}, close: async () => {} };
}

/** Leadership by etcd election, with a lease: a dead leader's gate closes when its lease runs out. */
export class EtcdLeadership implements LeadershipGate {
  readonly #store: EtcdStore;
  readonly #id: string;
  readonly #ttlSeconds: number;
  readonly #logger: Logger;
  readonly #listeners: ((leading: boolean) => void)[] = [];
  #leading = false;

  constructor(store: EtcdStore, id: string, ttlSeconds: number, logger: Logger) {
    this.#store = store;
    this.#id = id;
    this.#ttlSeconds = ttlSeconds;
    this.#logger = logger;
  }

  get leading(): boolean {
    return this.#leading;
  }

  onChange(listener: (leading: boolean) => void): void {
    this.#listeners.push(listener);
  }

  start(): void {
    this.#store.campaign(this.#id, this.#ttlSeconds, {
      elected: () => this.#set(true),
      lost: () => {
        if (this.#leading) this.#logger.warn('lost the leadership: no longer starting or stopping replicas');
        this.#set(false);
      },
    });
  }

  #set(leading: boolean): void {
    if (this.#leading === leading) return;
    this.#leading = leading;
    for (const listener of this.#listeners) listener(leading);
  }

  /** Resigning happens when the store closes (the campaign belongs to its client). */
  async close(): Promise<void> {
    this.#set(false);
  }
}
