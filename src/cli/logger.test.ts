import { describe, expect, it } from 'vitest';
import { errorSerializer } from './logger.js';

describe('errorSerializer', () => {
  const error = Object.assign(new Error('bind EADDRINUSE 0.0.0.0:5000'), { code: 'EADDRINUSE' });

  for (const level of ['fatal', 'error', 'warn', 'info', 'silent'] as const) {
    it(`keeps type, message and fields but no stack at ${level}`, () => {
      const logged = errorSerializer(level)(error);
      expect(logged).toMatchObject({
        type: 'Error',
        message: 'bind EADDRINUSE 0.0.0.0:5000',
        code: 'EADDRINUSE',
      });
      expect(logged).not.toHaveProperty('stack');
    });
  }

  for (const level of ['debug', 'trace'] as const) {
    it(`keeps the stack at ${level}`, () => {
      expect(errorSerializer(level)(error).stack).toBe(error.stack);
    });
  }
});
