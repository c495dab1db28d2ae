import { describe, expect, it } from 'vitest';
import { OutlierDetector } from './outlier-detector.js';

describe('OutlierDetector', () => {
  it('names a replica after N failures in a row, and a success starts the count again', () => {
    const outliers: string[] = [];
    const detector = new OutlierDetector(3, (replica, reason) => outliers.push(`${replica}: ${reason}`));
    detector.failure('a', 'reset');
    detector.failure('a', 'reset');
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
});
