import { optionalSetting, text } from '../../core/setting.js';

/** Who may change the balancer through its control API, and where that API listens. */
export const CONTROL_SETTINGS = {
  adminToken: optionalSetting({
    flag: 'admin-token',
    help: 'require "Authorization: Bearer TOKEN" on every call that changes state',
    value: text('a token of at least 16 characters', /^.{16,}$/s),
    unsetText: 'none: anyone who reaches the port may',
  }),
  adminTokenFile: optionalSetting({
    flag: 'admin-token-file',
    help: 'read the admin token from this file',
    value: text('a file name'),
  }),
  adminListen: optionalSetting({
    flag: 'admin-listen',
    help: 'serve the control API on HOST:PORT only (the public port then serves none)',
    value: text('HOST:PORT, e.g. 127.0.0.1:9000', /^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/),
  }),
};
