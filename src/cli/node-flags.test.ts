import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NODE_FLAGS, withNodeFlags } from './node-flags.js';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('NODE_FLAGS', () => {
  it('are given wherever the balancer is started', () => {
    const flags = NODE_FLAGS.join(' ');
    expect(read('src/cli/main.ts').split('\n')[0]).toBe(`#!/usr/bin/env -S node ${flags}`);
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.start).toBe(`node ${flags} dist/cli/main.js start`);
    expect(read('Dockerfile')).toContain(
      `ENTRYPOINT ["node", ${NODE_FLAGS.map((flag) => JSON.stringify(flag)).join(', ')}, "dist/cli/main.js"]`,
    );
    expect(read('bench/lib/ringlb.ts')).toContain('...binNodeFlags()');
    expect(read('src/cli/workers.ts')).toContain('withNodeFlags(process.execArgv)');
  });

  it('are added to a worker’s execArgv unless it sets them already', () => {
    expect(withNodeFlags(['--inspect'])).toEqual(['--inspect', ...NODE_FLAGS]);
    expect(withNodeFlags(['--max-semi-space-size=16'])).toEqual([
      '--max-semi-space-size=16',
      '--single-threaded-gc',
      '--v8-pool-size=1',
    ]);
  });
});
