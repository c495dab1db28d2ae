import { describe, expect, it } from 'vitest';
import { niceMax, timelineSvg } from '../bench/chaos-chart.js';
import { RingMembership } from '../bench/chaos-membership.js';
import { faultPlan } from '../bench/chaos-plan.js';
import { parseHelp } from '../bench/lib/ringlb.js';
import { markdownTable, median, quantile } from '../bench/lib/stats.js';
import { parseWrkOutput } from '../bench/wrk.js';

// The pure parts of the benchmark and chaos harnesses (the harnesses themselves run real processes
// through `npm run bench:proxy` and `npm run chaos`).

describe('parseHelp', () => {
  it('reads the ring algorithms and the workers flag from ringlb start --help', () => {
    const help = [
      '  --ring-size <value>            slots on the ring (default 512)  [RINGLB_RING_SIZE]',
      "  --ring <value>                 ring algorithm: classic, ketama, maglev, rendezvous (default classic, the seed's)  [RINGLB_RING]",
      '  --workers <value>              worker processes (default: cores)  [RINGLB_WORKERS]',
    ].join('\n');
    expect(parseHelp(help)).toEqual({
      algorithms: ['classic', 'ketama', 'maglev', 'rendezvous'],
      workers: true,
    });
  });

  it('finds neither in a build without them (--ring-size is not --ring)', () => {
    const help =
      '  --ring-size <value>            slots on the ring (default 512)  [RINGLB_RING_SIZE]\n  --vnodes <value>  x\n';
    expect(parseHelp(help)).toEqual({ algorithms: [], workers: false });
  });
});

describe('parseWrkOutput', () => {
  const line =
    'RESULT {"requests":1000,"durationUs":2000000,"p50":150,"p99":900,"p999":1500,"max":2000,' +
    '"connectErrors":0,"readErrors":1,"writeErrors":0,"statusErrors":2,"timeouts":0}';

  it('takes the RESULT line among wrk output', () => {
    const result = parseWrkOutput(`Running 2s test @ http://127.0.0.1:1/\n${line}\n`);
    expect(result.requests).toBe(1000);
    expect(result.p999).toBe(1500);
    expect(result.statusErrors).toBe(2);
  });

  it('refuses output without a RESULT line or with a missing field, quoting it', () => {
    expect(() => parseWrkOutput('unable to connect to 127.0.0.1:1 Connection refused')).toThrow(
      /no RESULT line[\s\S]*refused/,
    );
    expect(() => parseWrkOutput('RESULT {"requests":1}')).toThrow(/lacks "durationUs"/);
  });
});

describe('faultPlan', () => {
  it('spreads the hang and the removals between the kills of the full run', () => {
    expect(faultPlan(5, 1, 2)).toEqual([
      'SIGKILL',
      'SIGSTOP',
      'SIGKILL',
      'SIGKILL',
      '/rm',
      'SIGKILL',
      '/rm',
      'SIGKILL',
    ]);
    expect(faultPlan(2, 1, 1)).toEqual(['SIGKILL', 'SIGSTOP', '/rm', 'SIGKILL']);
  });

  it('holds exactly the faults asked for, in any mix', () => {
    for (let kills = 0; kills <= 6; kills++) {
      for (let stops = 0; stops <= 2; stops++) {
        for (let removals = 0; removals <= 3; removals++) {
          const plan = faultPlan(kills, stops, removals);
          expect(plan.filter((f) => f === 'SIGKILL')).toHaveLength(kills);
          expect(plan.filter((f) => f === 'SIGSTOP')).toHaveLength(stops);
          expect(plan.filter((f) => f === '/rm')).toHaveLength(removals);
        }
      }
    }
  });
});

describe('RingMembership from log lines', () => {
  const log = (time: number, msg: string, fields: Record<string, unknown> = {}) => ({
    time,
    msg,
    fields: { msg, ...fields },
  });

  it('follows the listening line, ejections, returns, additions and removals', () => {
    const ring = new RingMembership();
    ring.onLog(log(1, 'ringlb listening', { replicas: ['Server 1', 'Server 2', 'Server 3'] }));
    ring.onLog(log(5, 'replica down; taken out of the ring', { replica: 'Server 2' }));
    ring.onLog(log(7, 'request failed'));
    ring.onLog(log(9, 'replica replaced and back in the ring', { replica: 'Server 2' }));
    ring.onLog(log(12, 'replicas removed', { removed: ['Server 3'] }));
    ring.onLog(log(15, 'replicas added', { added: ['Server 4'] }));
    expect([...ring.members].sort()).toEqual(['Server 1', 'Server 2', 'Server 4']);
    expect(ring.firstChange('Server 2', false, 2)).toBe(5);
    expect(ring.firstChange('Server 2', true, 5)).toBe(9);
    expect(ring.firstChange('Server 3', false, 0)).toBe(12);
    expect(ring.firstChange('Server 1', false, 0)).toBeUndefined();
    expect(ring.source).toBe('log lines');
  });

  it('follows state-change lines: only the healthy state is in the ring', () => {
    const ring = new RingMembership();
    const state = (time: number, replica: string, from: string | null, to: string | null) =>
      log(time, 'replica state changed', { replica, from, to, reason: 'test' });
    ring.onLog(log(1, 'ringlb listening', { replicas: ['Server 1', 'Server 2'] }));
    ring.onLog(state(3, 'Server 1', 'healthy', 'ejected'));
    ring.onLog(state(4, 'Server 1', 'ejected', 'down'));
    ring.onLog(state(6, 'Server 1', 'down', 'starting'));
    ring.onLog(state(8, 'Server 1', 'starting', 'healthy'));
    ring.onLog(state(9, 'Server 2', 'healthy', 'draining'));
    expect(ring.transitions).toEqual([
      { time: 1, name: 'Server 1', inRing: true },
      { time: 1, name: 'Server 2', inRing: true },
      { time: 3, name: 'Server 1', inRing: false },
      { time: 8, name: 'Server 1', inRing: true },
      { time: 9, name: 'Server 2', inRing: false },
    ]);
  });
});

describe('stats', () => {
  it('median and nearest-rank quantiles', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([NaN, 5])).toBe(5);
    expect(median([])).toBeNaN();
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(quantile(hundred, 0.5)).toBe(50);
    expect(quantile(hundred, 0.99)).toBe(99);
    expect(quantile(hundred, 1)).toBe(100);
    expect(quantile([], 0.5)).toBeNaN();
  });

  it('markdown tables align the label columns left and the numbers right', () => {
    expect(markdownTable(['a', 'b'], [['x', '1']])).toBe('| a | b |\n| --- | ---: |\n| x | 1 |');
  });
});

describe('timeline chart', () => {
  it('rounds axis maxima up to 1, 2 or 5 × 10^k', () => {
    expect([0, 0.3, 1, 3, 7, 12, 2400].map(niceMax)).toEqual([1, 0.5, 1, 5, 10, 20, 5000]);
  });

  it('draws one labelled bar per second with failures and one marker per fault', () => {
    const seconds = [
      { ok: 100, failed: 0 },
      { ok: 90, failed: 3 },
      { ok: 100, failed: 0 },
    ];
    const membership = [
      { at: 0, inRing: 5, processes: 5 },
      { at: 1.2, inRing: 4, processes: 5 },
    ];
    const svg = timelineSvg(
      't <&>',
      seconds,
      membership,
      [{ at: 1, label: 'SIGKILL Server 2', outAt: 1.2, servingAt: 2 }],
      3,
    );
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('t &lt;&amp;&gt;');
    expect(svg).toContain('>SIGKILL Server 2</text>');
    expect(svg).toContain('>total 3</text>');
    expect(svg.match(/fill="#d62728"\/>/g)).toHaveLength(1);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
  });
});
