import { describe, expect, it } from 'vitest';
import { noTelemetry, type Telemetry } from './telemetry.js';
import { replayBatch, TelemetryRelay, type TelemetryBatch } from './telemetry-relay.js';

describe('TelemetryRelay', () => {
  it('batches requests, retries and fallbacks, and the replay counts each exactly once', () => {
    const batches: TelemetryBatch[] = [];
    const relay = new TelemetryRelay((batch) => batches.push(batch), 60_000);
    relay.requestDone('a', 200, 0.001, 0);
    relay.requestDone('b', 503, 0.002, 1);
    relay.retry(1);
    relay.hashKeyFallback();
    relay.hashKeyFallback();
    relay.flush();
    relay.flush();
    relay.close();
    expect(batches).toHaveLength(1);
    const seen: string[] = [];
    const counting: Telemetry = {
      ...noTelemetry,
      requestDone: (replica, status, seconds, protocol) =>
        seen.push(`${replica} ${status} ${seconds} ${protocol}`),
      retry: (protocol) => seen.push(`retry ${protocol}`),
      hashKeyFallback: () => seen.push('fallback'),
    };
    replayBatch(JSON.parse(JSON.stringify(batches[0])) as TelemetryBatch, counting);
    expect(seen).toEqual(['a 200 0.001 0', 'b 503 0.002 1', 'retry 1', 'fallback', 'fallback']);
  });

  it('sends a full batch at once', () => {
    const batches: TelemetryBatch[] = [];
    const relay = new TelemetryRelay((batch) => batches.push(batch), 60_000);
    for (let i = 0; i < 4096; i++) relay.requestDone('a', 200, 0, 0);
    expect(batches).toHaveLength(1);
    relay.close();
  });
});
