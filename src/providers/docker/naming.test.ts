import { describe, expect, it } from 'vitest';
import { containerName, containerNameProblem } from './naming.js';

describe('containerName', () => {
  it('keeps a hostname given to /add as the container name', () => {
    expect(containerName('ringlb', 'S5')).toBe('S5');
    expect(containerName('ringlb', 'web-1.eu_west')).toBe('web-1.eu_west');
  });

  it('turns a generated "Server N" into <cluster>-server-N', () => {
    expect(containerName('ringlb', 'Server 1')).toBe('ringlb-server-1');
    expect(containerName('blue', 'Server 42')).toBe('blue-server-42');
  });

  it('throws for a name Docker would refuse (the control API refuses these first)', () => {
    expect(() => containerName('ringlb', 'a')).toThrow(/cannot be a container name/);
    expect(() => containerName('ringlb', 'Server x')).toThrow(/cannot be a container name/);
    expect(() => containerName('ringlb', '-x')).toThrow(/cannot be a container name/);
  });
});

describe('containerNameProblem', () => {
  it('accepts what Docker accepts', () => {
    for (const name of ['S5', 'ab', 'a.b', 'A_b-9', 'x'.repeat(63)]) {
      expect(containerNameProblem('ringlb', name)).toBeUndefined();
    }
  });

  it('refuses one-character names, which Docker refuses', () => {
    expect(containerNameProblem('ringlb', 'a')).toMatch(/Docker needs 2 or more/);
  });

  it('refuses the names reserved for generated replicas of this cluster only', () => {
    expect(containerNameProblem('ringlb', 'ringlb-server-3')).toMatch(/reserved/);
    expect(containerNameProblem('ringlb', 'ringlb-server-x')).toMatch(/reserved/);
    expect(containerNameProblem('blue', 'ringlb-server-3')).toBeUndefined();
  });

  it('makes the mapping one-to-one: no accepted hostname maps where a generated name does', () => {
    const generated = new Set([1, 2, 3, 10].map((n) => containerName('ringlb', `Server ${n}`)));
    for (const name of generated) expect(containerNameProblem('ringlb', name)).toBeDefined();
  });
});
