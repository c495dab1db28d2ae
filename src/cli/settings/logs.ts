import { oneOf, setting, yesNo } from '../../core/setting.js';

/** What the balancer tells its operator. */
export const LOG_SETTINGS = {
  logLevel: setting({
    flag: 'log-level',
    help: 'fatal, error, warn, info, debug, trace, or silent; debug adds stack traces to errors',
    value: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    default: 'info',
  }),
  logFormat: setting({
    flag: 'log-format',
    help: 'json, pretty, or auto = pretty when stdout is a terminal',
    value: oneOf(['auto', 'json', 'pretty']),
    default: 'auto',
  }),
  accessLog: setting({
    flag: 'access-log',
    help: 'log one line per proxied request (a bare flag means true)',
    value: yesNo(),
    default: false,
  }),
  metrics: setting({
    flag: 'metrics',
    help: 'count requests and serve GET /metrics',
    value: yesNo(),
    default: true,
  }),
};
