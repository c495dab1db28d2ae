/**
 * What the data path and membership report as it happens. The metrics module implements it; the
 * default does nothing, so the hot path pays one no-op call when metrics are off.
 */
/** `unhealthy`: a member whose life is not the balancer's (static, Swarm) that does not answer. */
export type ReplicaState = 'starting' | 'healthy' | 'ejected' | 'down' | 'unhealthy' | 'draining';

export interface Telemetry {
  /**
   * One proxied request finished (any status, errors the balancer answered included); `protocol` is
   * its index in `PROTOCOLS`.
   */
  requestDone(replica: string, status: number, seconds: number, protocol: number): void;
  /** A request was sent again to another replica. */
  retry(protocol: number): void;
  /** The configured hash key was absent and a random key was used. */
  hashKeyFallback(): void;
  /** A failed replica was replaced. */
  replacement(replica: string): void;
  /** The ring changed; `movedRatio` is the fraction of the key space that now maps elsewhere. */
  membershipChange(reason: string, movedRatio: number): void;
  /** A replica changed state. */
  replicaState(
    replica: string,
    from: ReplicaState | undefined,
    to: ReplicaState | undefined,
    reason: string,
  ): void;
}

export const noTelemetry: Telemetry = {
  requestDone() {},
  retry() {},
  hashKeyFallback() {},
  replacement() {},
  membershipChange() {},
  replicaState() {},
};
