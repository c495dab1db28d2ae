import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { missingProcessEnv, NODE_FLAGS, PROCESS_ENV, processEnvWords, withNodeFlags } from './node-flags.js';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('NODE_FLAGS', () => {
  it('are given wherever the balancer is started', () => {
    const flags = NODE_FLAGS.join(' ');
    const env = processEnvWords().join(' ');
    expect(read('src/cli/main.ts').split('\n')[0]).toBe(`#!/usr/bin/env -S ${env} node ${flags}`);
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.start).toBe(`${env} node ${flags} dist/cli/main.js start`);
    const dockerfile = read('Dockerfile');
    expect(dockerfile).toContain(
      `ENTRYPOINT ["node", ${NODE_FLAGS.map((flag) => JSON.stringify(flag)).join(', ')}, "dist/cli/main.js"]`,
    );
    for (const [name, value] of Object.entries(PROCESS_ENV))
      expect(dockerfile).toContain(`ENV ${name}=${value}\n`);
    expect(read('bench/lib/ringlb.ts')).toContain('...binNodeFlags()');
    expect(read('bench/lib/ringlb.ts')).toContain('...binEnv()');
    expect(read('test/cli-process.ts')).toContain('...PROCESS_ENV');
    expect(read('src/cli/workers.ts')).toContain('withNodeFlags(process.execArgv)');
    expect(read('src/cli/workers.ts')).toContain('...missingProcessEnv(process.env)');
  });

  it('give a worker the environment its primary lacks, and leave what it has', () => {
    expect(missingProcessEnv({})).toEqual(PROCESS_ENV);
    expect(missingProcessEnv({ MALLOC_MMAP_THRESHOLD_: '131072' })).toEqual({});
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
