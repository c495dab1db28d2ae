import { describe, expect, it } from 'vitest';
import { OutlierDetector } from './outlier-detector.js';

describe('OutlierDetector', () => {
  it('names a replica after N failures in a row, and a success starts the count again', () => {
    const outliers: string[] = [];
    const detector = new OutlierDetector(3, (replica, reason) => outliers.push(`${replica}: ${reason}`));
    detector.failure('a', 'reset');
    detector.failure('a', 'reset');
    detector.success('a');
    detector.success('a');
    detector.success('a');
    detector.success('a');
    detector.failure('a', 'reset');
    detector.failure('b', 'status 503');
    detector.failure('a', 'reset');
    expect(outliers).toEqual([]);
    detector.failure('a', 'timeout');
    expect(outliers).toEqual(['a: 3 failed requests in a row (last: timeout)']);
    // The count starts over after a report.
    detector.failure('a', 'reset');
    detector.failure('a', 'reset');
    expect(outliers).toHaveLength(1);
  });

  it('names a replica that fails every other request: N failures among its last 2N', () => {
    const outliers: string[] = [];
    const detector = new OutlierDetector(5, (replica, reason) => outliers.push(`${replica}: ${reason}`));
    for (let i = 0; i < 4; i++) {
      detector.failure('a', 'reset');
      detector.success('a');
    }
    expect(outliers).toEqual([]);
    detector.failure('a', 'reset');
    expect(outliers).toEqual(['a: 5 of its last 9 requests failed (last: reset)']);
  });

  it('forgets failures that left the window', () => {
    const outliers: string[] = [];
    const detector = new OutlierDetector(3, (replica) => outliers.push(replica));
    // One failure in every 4 requests stays under 3 of 6, however long it goes on.
    for (let i = 0; i < 100; i++) {
      detector.failure('a', 'reset');
      for (let j = 0; j < 3; j++) detector.success('a');
    }
    expect(outliers).toEqual([]);
  });

  it('never names anyone with a threshold of 0 (off)', () => {
    const outliers: string[] = [];
    const detector = new OutlierDetector(0, (replica) => outliers.push(replica));
    for (let i = 0; i < 10; i++) detector.failure('a', 'reset');
    expect(outliers).toEqual([]);
  });
});
