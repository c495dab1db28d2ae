import { describe, expect, it } from 'vitest';
import { MALFORMED, parseWrk } from '../bench/hostile-requests.js';
import { median } from '../bench/lib/stats.js';
import { readStrictly } from './fuzz/request-stream.js';

/** The pure parts of `npm run bench:hostile`. */
describe('bench:hostile requests and wrk parsing', () => {
  it('sends only requests that a strict parser refuses (so none may reach a backend)', () => {
    for (const bytes of MALFORMED) {
      const reading = readStrictly(Buffer.from(bytes, 'latin1'));
      expect(reading.refused, JSON.stringify(bytes.slice(0, 80))).toBeDefined();
      expect(bytes).toMatch(/^[A-Z]+ \/malformed\//);
    }
  });

  it("reads req/s, p99 and errors from wrk's --latency output", () => {
    const output = `Running 1s test @ http://127.0.0.1:18777/
  1 threads and 2 connections
  Latency Distribution
     50%  171.00us
     75%    0.93ms
     90%    2.70ms
     99%   18.80ms
  6710 requests in 1.00s, 812.54KB read
  Socket errors: connect 0, read 2, write 1, timeout 3
  Non-2xx or 3xx responses: 4
Requests/sec:   6696.92
Transfer/sec:    810.96KB
`;
    expect(parseWrk(output)).toEqual({ requestsPerSecond: 6696.92, p99Ms: 18.8, errors: 10 });
    expect(parseWrk(output.replace('18.80ms', '1.50s')).p99Ms).toBe(1500);
    expect(parseWrk(output.replace('18.80ms', '950.00us')).p99Ms).toBeCloseTo(0.95);
    expect(() => parseWrk('unable to connect to 127.0.0.1:1 Connection refused')).toThrow(
      /unexpected wrk output/,
    );
  });

  it('takes the median of an even count as the mean of the middle two', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});
