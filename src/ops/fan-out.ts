import { noTelemetry, type Telemetry } from './telemetry.js';

type Method = keyof Telemetry;
const METHODS: readonly Method[] = [
  'requestDone',
  'retry',
  'hashKeyFallback',
  'replacement',
  'membershipChange',
  'replicaState',
];

/**
 * One Telemetry that reports to every sink implementing each method. A method no sink implements is
 * the shared no-op and a method one sink implements is that sink's own function, so the hot path
 * (`requestDone`) pays no loop when only the metrics listen to it.
 */
export function fanOut(sinks: readonly Partial<Telemetry>[]): Telemetry {
  const combined: Record<string, unknown> = {};
  for (const method of METHODS) {
    const listening = sinks.filter((sink) => typeof sink[method] === 'function');
    const calls = listening.map((sink) => (sink[method] as (...args: unknown[]) => void).bind(sink));
    combined[method] =
      calls.length === 0
        ? noTelemetry[method]
        : calls.length === 1
          ? calls[0]
          : (...args: unknown[]) => {
              for (const call of calls) call(...args);
            };
  }
  return combined as unknown as Telemetry;
}
