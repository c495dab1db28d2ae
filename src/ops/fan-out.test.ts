import { describe, expect, it } from 'vitest';
import { fanOut } from './fan-out.js';
import { noTelemetry } from './telemetry.js';

describe('fanOut', () => {
  it('calls every sink that implements a method, with its own this', () => {
    const seen: string[] = [];
    class Counting {
      count = 0;
      retry() {
        this.count++;
      }
    }
    const counting = new Counting();
    const telemetry = fanOut([
      counting,
      {
        retry: () => seen.push('retry'),
        replicaState: (name, from, to) => seen.push(`${name} ${from}→${to}`),
      },
    ]);
    telemetry.retry(0);
    telemetry.replicaState('a', 'healthy', 'down', 'test');
    telemetry.requestDone('a', 200, 0.1, 0);
    expect(counting.count).toBe(1);
    expect(seen).toEqual(['retry', 'a healthy→down']);
  });

  it('uses the shared no-op where nobody listens and the sink itself where one does', () => {
    const only = { requestDone() {} };
    const telemetry = fanOut([only]);
    expect(telemetry.hashKeyFallback).toBe(noTelemetry.hashKeyFallback);
    telemetry.requestDone('a', 200, 0, 0);
    expect(fanOut([]).requestDone).toBe(noTelemetry.requestDone);
  });
});
