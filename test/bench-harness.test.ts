import { describe, expect, it } from 'vitest';
import { niceMax, timelineSvg } from '../bench/chaos-chart.js';
import { RingMembership } from '../bench/chaos-membership.js';
import { faultPlan } from '../bench/chaos-plan.js';
import { frameName, summarizeProfile, type CpuProfile } from '../bench/lib/cpu-profile.js';
import { parseHelp } from '../bench/lib/ringlb.js';
import { markdownTable, median, quantile } from '../bench/lib/stats.js';
import { MIB, WORKLOADS, parseWorkloads, throughput, wrkScript } from '../bench/lib/workloads.js';
import { parseProxyBenchOptions } from '../bench/proxy-options.js';
import {
  hotKeysCheck,
  pairedRatio,
  summaryTable,
  targetChecks,
  type BackendResult,
  type Sample,
} from '../bench/proxy-report.js';
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
    expect(result.bytes).toBe(0);
    expect(parseWrkOutput(line.replace('{', '{"bytes":4096,')).bytes).toBe(4096);
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

describe('bench:proxy workloads', () => {
  it('parses --workloads, all of them by default, refusing unknown names', () => {
    expect(parseWorkloads('all').map((w) => w.name)).toEqual([
      'get',
      'post1k',
      'mix',
      'upload1m',
      'download1m',
    ]);
    expect(parseWorkloads(' get , mix,get').map((w) => w.name)).toEqual(['get', 'mix']);
    expect(() => parseWorkloads('get,put')).toThrow(
      '--workloads: unknown workload "put"; use get, post1k, mix, upload1m, download1m or all',
    );
    expect(() => parseWorkloads('')).toThrow(/unknown workload ""/);
  });

  it('writes a wrk script per workload with varied paths and the right method and body', () => {
    const get = wrkScript(WORKLOADS.get);
    expect(get).toContain('wrk.format("GET", "/home/" .. id .. "?k=" .. id');
    expect(get).not.toContain('"POST"');
    expect(get).toContain('local count = 4096');
    expect(get).toContain('summary.bytes');

    const post = wrkScript(WORKLOADS.post1k);
    expect(post).toContain('wrk.format("POST", "/home/"');
    expect(post).toContain('string.rep("x", 1024)');
    expect(post).not.toContain('"GET"');

    const mix = wrkScript(WORKLOADS.mix);
    expect(mix).toContain('(i % 10 == 0) and wrk.format("POST"');
    expect(mix).toContain('or wrk.format("GET"');

    const upload = wrkScript(WORKLOADS.upload1m);
    expect(upload).toContain(`string.rep("y", ${MIB})`);
    expect(upload).toContain('wrk.format("POST", "/upload/"');
    expect(upload).toContain('local count = 48');

    expect(wrkScript(WORKLOADS.download1m)).toContain('wrk.format("GET", "/download/"');
  });

  it('counts throughput in req/s, or in MiB/s for the 1 MiB transfers', () => {
    expect(throughput(WORKLOADS.get, 5000, 2_000_000)).toBe(2500);
    expect(throughput(WORKLOADS.upload1m, 500, 2_000_000)).toBe(250);
    expect(throughput(WORKLOADS.download1m, 100, 1_000_000)).toBe(100);
  });

  it('parses its options, with short runs possible and bad values refused', () => {
    const defaults = parseProxyBenchOptions([]);
    expect(defaults).toMatchObject({
      rounds: 3,
      seconds: 5,
      warmupSeconds: 1,
      connections: 64,
      cpuProf: false,
    });
    expect(defaults.backends).toEqual(['nginx', 'node']);
    expect(defaults.workloads).toHaveLength(5);
    const short = parseProxyBenchOptions([
      '--rounds',
      '1',
      '--seconds',
      '2',
      '--warmup',
      '0',
      '--workloads',
      'get,post1k',
      '--backends',
      'nginx',
      '--cpu-prof',
    ]);
    expect(short).toMatchObject({
      rounds: 1,
      seconds: 2,
      warmupSeconds: 0,
      backends: ['nginx'],
      cpuProf: true,
    });
    expect(short.workloads.map((w) => w.name)).toEqual(['get', 'post1k']);
    expect(parseProxyBenchOptions(['--quick'])).toMatchObject({ rounds: 1, seconds: 1, backends: ['nginx'] });
    expect(() => parseProxyBenchOptions(['--rounds', '0'])).toThrow(
      '--rounds takes a whole number ≥ 1, not "0"',
    );
    expect(() => parseProxyBenchOptions(['--seconds', '1.5'])).toThrow(/--seconds takes a whole number/);
    expect(() => parseProxyBenchOptions(['--backends', 'envoy'])).toThrow(
      '--backends takes nginx and/or node, not "envoy"',
    );
    expect(() => parseProxyBenchOptions(['--rings', 'ketama'])).toThrow(/rings/);
    expect(defaults.variants.map((v) => v.name)).toEqual([
      'ringlb defaults',
      'ringlb --ring ketama --hash-key uri',
    ]);
    expect(parseProxyBenchOptions(['--variants', 'hot-keys-off,defaults']).variants).toEqual([
      { name: 'ringlb --hot-keys false', args: ['--hot-keys', 'false'] },
      { name: 'ringlb defaults', args: [] },
    ]);
    expect(parseProxyBenchOptions(['--variants', 'all']).variants).toHaveLength(3);
    expect(() => parseProxyBenchOptions(['--variants', 'fast'])).toThrow(
      '--variants takes defaults, ketama-uri, hot-keys-off or all, not "fast"',
    );
  });
});

describe('bench:proxy report', () => {
  const sample = (throughput: number, p99: number, cpu: number): Sample => ({
    throughput,
    p50: p99 / 2,
    p99,
    p999: p99,
    cpuUsPerRequest: cpu,
    rssTotal: 0,
    rssMax: 0,
    errors: 0,
  });
  /** One GET run of the named targets; `rssAfter` in MB per target. */
  const getRun = (
    rows: readonly [name: string, kind: 'nginx' | 'ringlb', samples: Sample[]][],
    rssAfter: readonly [string, number][] = [],
  ): BackendResult => ({
    backend: 'nginx',
    targets: rows.map(([name, kind]) => ({ name, kind })),
    workloads: [{ workload: WORKLOADS.get, samples: new Map(rows.map(([name, , s]) => [name, s])) }],
    rssAfter: new Map(rssAfter.map(([name, mb]) => [name, mb * 2 ** 20])),
  });
  const result = (ringlb: Sample[], nginx: Sample[], rssMb: number): BackendResult =>
    getRun(
      [
        ['nginx', 'nginx', nginx],
        ['ringlb', 'ringlb', ringlb],
      ],
      [['ringlb', rssMb]],
    );

  it('pairs rounds: the median of per-round ratios', () => {
    const a = [sample(110, 1, 1), sample(90, 1, 1), sample(300, 1, 1)];
    const b = [sample(100, 1, 1), sample(100, 1, 1), sample(100, 1, 1)];
    expect(pairedRatio(a, b, (s) => s.throughput)).toBeCloseTo(1.1);
    expect(pairedRatio(a, b.slice(0, 1), (s) => s.throughput)).toBeCloseTo(1.1);
  });

  it('says each target met or missed, and only the workloads that ran', () => {
    const met = targetChecks(result([sample(12_000, 900, 20)], [sample(10_000, 1000, 25)], 75));
    expect(met.map((c) => c.met)).toEqual([true, true, true]);
    expect(met[0]!.text).toBe('ringlb, GET: req/s ÷ nginx ≥ 1.1: 1.20 — met');
    expect(met[1]!.text).toBe('ringlb, GET: CPU µs per request ÷ nginx ≤ 0.9: 0.80 — met');
    expect(met[2]!.text).toBe('ringlb, RSS after every workload ≤ 80 MB: 75.0 MB — met');

    const missed = targetChecks(result([sample(10_500, 900, 24)], [sample(10_000, 1000, 25)], 81));
    expect(missed.map((c) => c.met)).toEqual([false, false, false]);
    expect(missed[0]!.text).toMatch(/1\.05 — MISSED$/);
    // A missing peer sample is not a pass.
    expect(targetChecks(result([sample(1, 1, 1)], [], 10))[0]!.met).toBe(false);
  });

  it('compares hot keys on against off on GET when both rows ran (issue 17)', () => {
    const run = (on: Sample, off: Sample) =>
      getRun([
        ['ringlb defaults', 'ringlb', [on]],
        ['ringlb --hot-keys false', 'ringlb', [off]],
      ]);
    expect(hotKeysCheck(run(sample(9_800, 1, 30), sample(10_000, 1, 30)))).toEqual({
      text: 'hot keys on ÷ off (issue 17), GET req/s ≥ 0.97: 0.98 (CPU µs per request 1.00) — met',
      met: true,
    });
    expect(hotKeysCheck(run(sample(9_000, 1, 33), sample(10_000, 1, 30)))!.met).toBe(false);
    expect(hotKeysCheck(result([sample(1, 1, 1)], [sample(1, 1, 1)], 10))).toBeUndefined();
  });

  it('puts every ringlb row against nginx in one table', () => {
    const table = summaryTable(result([sample(12_000, 900, 20)], [sample(10_000, 1000, 25)], 75));
    expect(table.split('\n')[2]).toBe('| GET | ringlb | 1.20 | 0.90 | 0.80 |');
  });
});

describe('cpu profile summary', () => {
  const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });
  // root → main → (a → b), (idle); samples: b b a idle main
  const profile: CpuProfile = {
    startTime: 0,
    endTime: 5,
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 5] },
      { id: 2, callFrame: frame('main', 'file:///x/dist/cli/main.js', 9), children: [3] },
      { id: 3, callFrame: frame('a', 'file:///x/dist/proxy/a.js', 0), children: [4] },
      { id: 4, callFrame: frame('', 'node:net', 4) },
      { id: 5, callFrame: frame('(idle)') },
    ],
    samples: [4, 4, 3, 5, 2],
  };

  it('names frames by function and the file under dist/ or node_modules/', () => {
    expect(frameName(frame('f', 'file:///w/dist/proxy/x.js', 0))).toBe('f (proxy/x.js:1)');
    expect(frameName(frame('g', '/w/node_modules/undici/lib/a.js', 9))).toBe('g (undici/lib/a.js:10)');
    expect(frameName(frame('', 'node:net', 2))).toBe('(anonymous) (node:net:3)');
    expect(frameName(frame('(garbage collector)'))).toBe('(garbage collector)');
  });

  it('gives self and total shares of the busy samples', () => {
    const summary = summarizeProfile(profile);
    expect(summary.samples).toBe(5);
    expect(summary.busySamples).toBe(4);
    expect(summary.self).toEqual([
      { name: '(anonymous) (node:net:5)', share: 0.5 },
      { name: 'a (proxy/a.js:1)', share: 0.25 },
      { name: 'main (cli/main.js:10)', share: 0.25 },
    ]);
    expect(summary.total[0]).toEqual({ name: 'main (cli/main.js:10)', share: 1 });
    expect(summary.total[1]).toEqual({ name: 'a (proxy/a.js:1)', share: 0.75 });
  });
});
