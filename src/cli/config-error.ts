/** A usage error: bad settings or arguments (exit status 2, no stack trace). */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
