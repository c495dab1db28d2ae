import type { Logger } from 'pino';
import type { ReplicaState, Telemetry } from './telemetry.js';

/**
 * Logs every replica state transition and ring change once, with its reason. Transitions into
 * trouble are warnings; the rest are info. Nothing here runs per request.
 */
export function transitionLog(logger: Logger): Partial<Telemetry> {
  return {
    replicaState(
      replica: string,
      from: ReplicaState | undefined,
      to: ReplicaState | undefined,
      reason: string,
    ) {
      const level = to === 'down' || to === 'unhealthy' ? 'warn' : 'info';
      logger[level]({ replica, from: from ?? null, to: to ?? null, reason }, 'replica state changed');
    },
    membershipChange(reason: string, movedRatio: number) {
      logger.info({ reason, movedRatio: Number(movedRatio.toFixed(4)) }, 'ring changed');
    },
  };
}
