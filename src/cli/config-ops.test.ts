import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('operations settings', () => {
  it('have defaults: metrics on, access log off, log format auto', () => {
    expect(loadConfig([], {})).toMatchObject({ metrics: true, accessLog: false, logFormat: 'auto' });
  });

  it('take yes/no flags bare, with a value, or from the environment', () => {
    expect(loadConfig(['--access-log'], {}).accessLog).toBe(true);
    expect(loadConfig(['--access-log', '--port', '1'], {})).toMatchObject({ accessLog: true, port: 1 });
    expect(loadConfig(['--metrics', 'false'], {}).metrics).toBe(false);
    expect(loadConfig(['--metrics=0'], {}).metrics).toBe(false);
    expect(loadConfig([], { RINGLB_ACCESS_LOG: 'true', RINGLB_METRICS: 'FALSE' })).toMatchObject({
      accessLog: true,
      metrics: false,
    });
    expect(loadConfig(['--log-format', 'pretty'], {}).logFormat).toBe('pretty');
  });

  it('refuse values that are not yes/no, naming the setting', () => {
    expect(() => loadConfig(['--metrics=maybe'], {})).toThrow(
      '--metrics: expected true or false (or 1 or 0), got "maybe"',
    );
    expect(() => loadConfig([], { RINGLB_ACCESS_LOG: 'yes' })).toThrow(
      'RINGLB_ACCESS_LOG: expected true or false (or 1 or 0), got "yes"',
    );
    expect(() => loadConfig(['--log-format', 'xml'], {})).toThrow(
      '--log-format: expected one of auto, json, pretty, got "xml"',
    );
  });
});
