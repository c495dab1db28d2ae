import { describe, expect, it } from 'vitest';
import { prettyLine } from './pretty-log.js';

describe('prettyLine', () => {
  const time = Date.UTC(2026, 10, 25, 18, 20, 1, 123);

  it('shows time, level, message and the other fields, quoting only where needed', () => {
    const line = JSON.stringify({
      level: 40,
      time,
      pid: 1,
      hostname: 'h',
      service: 'ringlb',
      replica: 'Server 2',
      tookMs: 12,
      msg: 'replica down',
    });
    expect(prettyLine(line, false)).toBe('18:20:01.123 WARN  replica down  replica="Server 2" tookMs=12\n');
    expect(prettyLine(line, true)).toContain('\x1b[33mWARN \x1b[0m');
  });

  it('prints an error stack on the following lines', () => {
    const line = JSON.stringify({
      level: 50,
      time,
      msg: 'failed',
      err: { message: 'x', stack: 'Error: x\n  at y' },
    });
    expect(prettyLine(line, false)).toBe('18:20:01.123 ERROR failed\n    Error: x\n      at y\n');
  });

  it('passes through a line that is not JSON', () => {
    expect(prettyLine('plain', false)).toBe('plain\n');
  });
});
