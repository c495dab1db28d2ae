import { describe, expect, it } from 'vitest';
import { CLIENT_FLAGS, clientHelp, parseClientArgs } from './client-args.js';

describe('client arguments', () => {
  it('has defaults, and takes flags over environment variables', () => {
    expect(parseClientArgs('status', [], {})).toEqual({
      command: 'status',
      url: 'http://127.0.0.1:5000',
      token: undefined,
      json: false,
      timeoutMs: 10_000,
      n: undefined,
      names: [],
      help: false,
    });
    const env = { RINGLB_URL: 'http://lb:6000/', RINGLB_TOKEN: 'env-token', RINGLB_TIMEOUT: '50' };
    expect(parseClientArgs('status', ['--token=flag-token', '--json'], env)).toMatchObject({
      url: 'http://lb:6000',
      token: 'flag-token',
      timeoutMs: 50,
      json: true,
    });
  });

  it('reads names and --n for add and rm', () => {
    expect(parseClientArgs('add', ['S5', '--n', '3', 'S6'], {})).toMatchObject({ n: 3, names: ['S5', 'S6'] });
    expect(parseClientArgs('rm', ['--n=2'], {})).toMatchObject({ n: 2, names: [] });
  });

  it('refuses bad usage with a message that names the flag', () => {
    expect(() => parseClientArgs('add', ['--n', '0'], {})).toThrow(
      /--n: expected a whole number from 1 up, got "0"/,
    );
    expect(() => parseClientArgs('add', ['--n'], {})).toThrow(/--n needs a value/);
    expect(() => parseClientArgs('status', ['--n', '1'], {})).toThrow(/unknown option --n for ringlb status/);
    expect(() => parseClientArgs('status', ['S1'], {})).toThrow(/takes no names/);
    expect(() => parseClientArgs('status', ['--url', 'ftp://x'], {})).toThrow(/http:\/\/ or https:\/\//);
    expect(() => parseClientArgs('status', ['--url', 'nope'], {})).toThrow(/not a URL/);
    expect(() => parseClientArgs('status', ['--json=yes'], {})).toThrow(/takes no value/);
    expect(() => parseClientArgs('status', ['--timeout', '-1'], {})).toThrow(/--timeout/);
  });

  it('lists every flag of a command with its default and environment variable in --help', () => {
    for (const command of ['status', 'add', 'rm', 'plan'] as const) {
      const help = clientHelp(command);
      for (const flag of CLIENT_FLAGS.filter((f) => f.commands.includes(command))) {
        const line = help.split('\n').find((l) => l.trimStart().startsWith(`--${flag.flag}`));
        expect(line, `${command} --${flag.flag}`).toBeDefined();
        expect(line).toContain(`(default ${flag.default})`);
        if (flag.env) expect(line).toContain(`[${flag.env}]`);
      }
      expect(help).toMatch(/Exit codes: 0 done; 1 .*; 2 bad usage;\n3 /);
    }
    expect(clientHelp('status')).not.toMatch(/--n /);
  });
});
