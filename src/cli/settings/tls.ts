import { z } from 'zod';
import { oneOf, optionalSetting, setting, text, wholeNumber } from '../../core/setting.js';

const version = oneOf(['TLSv1.2', 'TLSv1.3', '1.2', '1.3']);

/** TLS on the public port. */
export const TLS_SETTINGS = {
  tlsCert: optionalSetting({
    flag: 'tls-cert',
    help: 'PEM certificate chain: the port speaks TLS (reloaded when the file changes)',
    value: text('a file name'),
  }),
  tlsKey: optionalSetting({
    flag: 'tls-key',
    help: 'PEM private key of --tls-cert (reloaded when the file changes)',
    value: text('a file name'),
  }),
  tlsMinVersion: setting({
    flag: 'tls-min-version',
    help: 'oldest TLS version accepted: 1.2 or 1.3',
    value: {
      kind: 'string',
      rule: version.rule.transform((v) => (v.startsWith('TLS') ? v : `TLSv${v}`) as 'TLSv1.2' | 'TLSv1.3'),
    },
    default: 'TLSv1.2' as const,
    defaultText: '1.2',
  }),
  httpRedirectPort: optionalSetting({
    flag: 'http-redirect-port',
    help: 'plain-HTTP port that answers every request with a 308 to https (needs TLS)',
    value: wholeNumber(0, 65535),
  }),
} satisfies Record<string, { rule: z.ZodType }>;
