import { z } from 'zod';
import { setting, shown, type SettingValue } from '../../core/setting.js';

/**
 * A backend is an origin: scheme, host and port. A path would be silently dropped by the proxy,
 * so it is refused rather than taken as a base path.
 */
export function backendProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `expected an http:// or h2c:// URL, got ${shown(text)}`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'h2c:')
    return `expected an http:// or h2c:// URL, got ${shown(text)}`;
  if (
    (url.pathname !== '/' && url.pathname !== '') ||
    url.search !== '' ||
    url.hash !== '' ||
    url.username !== ''
  )
    return `${shown(text)} has a path, query or user: give scheme, host and port only (paths are not forwarded)`;
  if (url.port === '' && url.protocol === 'h2c:') return `${shown(text)} needs a port`;
  return undefined;
}

const backendList: SettingValue<z.ZodArray<z.ZodString>> = {
  kind: 'list',
  rule: z
    .array(z.string(), {
      error: (issue) => `expected a comma-separated list of URLs, got ${shown(issue.input)}`,
    })
    .superRefine((urls, ctx) => {
      const seen = new Set<string>();
      for (const url of urls) {
        const problem = backendProblem(url);
        if (problem) {
          ctx.addIssue({ code: 'custom', message: problem });
          continue;
        }
        // h2c: is not a special scheme, so its URL has no origin; scheme and host say the same.
        const { protocol, host } = new URL(url);
        if (seen.has(`${protocol}//${host}`))
          ctx.addIssue({ code: 'custom', message: `${shown(url)} is listed twice: give each backend once` });
        seen.add(`${protocol}//${host}`);
      }
    }),
};

/** The static provider (--provider static): replicas are servers that already run. */
export const STATIC_SETTINGS = {
  backends: setting({
    flag: 'backends',
    help: 'comma-separated URLs (http://host:port, h2c://host:port) of existing servers, for --provider static',
    value: backendList,
    default: [],
    defaultText: 'none',
  }),
};
