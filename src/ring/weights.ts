import { RinglbError } from '../core/errors.js';
import type { RingMember } from './ring.js';

/** A member's weight (default 1), refused unless it is a positive finite number. */
export function weightOf(member: RingMember): number {
  const weight = member.weight ?? 1;
  if (!Number.isFinite(weight) || weight <= 0) {
    throw new RinglbError(
      'ERR_INVALID_CONFIG',
      `replica '${member.name}' has weight ${weight}: a weight must be a positive number`,
    );
  }
  return weight;
}
