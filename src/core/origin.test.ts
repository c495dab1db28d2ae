import { describe, expect, it } from 'vitest';
import { httpOrigin } from './origin.js';

describe('httpOrigin', () => {
  it('puts IPv6 addresses in brackets and leaves names and IPv4 as they are', () => {
    expect(httpOrigin('10.77.0.2', 8080)).toBe('http://10.77.0.2:8080');
    expect(httpOrigin('fd00::2', 8080)).toBe('http://[fd00::2]:8080');
    expect(httpOrigin('lb-2.example', 80)).toBe('http://lb-2.example:80');
  });
});
