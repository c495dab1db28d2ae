import type { Setting } from '../../core/setting.js';
import { CONTROL_SETTINGS } from './control.js';
import { DOCKER_SETTINGS } from './docker.js';
import { ETCD_SETTINGS } from './etcd.js';
import { HOST_SETTINGS } from './hosts.js';
import { HTTP2_SETTINGS } from './http2.js';
import { KEY_SETTINGS } from './keys.js';
import { LISTENER_SETTINGS } from './listener.js';
import { LOG_SETTINGS } from './logs.js';
import { REPLICA_SETTINGS } from './replicas.js';
import { ROUTING_SETTINGS } from './routing.js';
import { STATIC_SETTINGS } from './static.js';
import { SWARM_SETTINGS } from './swarm.js';
import { TLS_SETTINGS } from './tls.js';

/**
 * Every setting of `ringlb start`, in the groups `--help` shows. To add one: declare it in its group
 * (or a new group file listed here); the flag, variable, config-file key, help and check follow.
 */
export const SETTING_GROUPS = [
  { title: 'Listener', settings: LISTENER_SETTINGS },
  { title: 'TLS', settings: TLS_SETTINGS },
  { title: 'HTTP/2', settings: HTTP2_SETTINGS },
  { title: 'Control API', settings: CONTROL_SETTINGS },
  { title: 'Replicas and health checks', settings: REPLICA_SETTINGS },
  { title: 'Ring and routing (the ring settings are also what PUT /ring takes)', settings: ROUTING_SETTINGS },
  { title: 'Keys that move gently (slow start, hand-off hints, hot keys)', settings: KEY_SETTINGS },
  { title: 'Logs and metrics', settings: LOG_SETTINGS },
  { title: 'Docker provider (--provider docker)', settings: DOCKER_SETTINGS },
  { title: 'Static provider (--provider static)', settings: STATIC_SETTINGS },
  { title: 'Swarm provider (--provider swarm)', settings: SWARM_SETTINGS },
  { title: 'Shared membership (--membership etcd)', settings: ETCD_SETTINGS },
  { title: 'Several hosts', settings: HOST_SETTINGS },
] as const;

export const ALL_SETTINGS = {
  ...LISTENER_SETTINGS,
  ...TLS_SETTINGS,
  ...HTTP2_SETTINGS,
  ...CONTROL_SETTINGS,
  ...REPLICA_SETTINGS,
  ...ROUTING_SETTINGS,
  ...KEY_SETTINGS,
  ...LOG_SETTINGS,
  ...DOCKER_SETTINGS,
  ...STATIC_SETTINGS,
  ...SWARM_SETTINGS,
  ...ETCD_SETTINGS,
  ...HOST_SETTINGS,
};

export type SettingKey = keyof typeof ALL_SETTINGS;

/** Each setting with its key, in help order. */
export const SETTINGS: readonly (Setting & { readonly key: SettingKey })[] = SETTING_GROUPS.flatMap((group) =>
  Object.entries(group.settings).map(([key, s]) => ({ ...(s as Setting), key: key as SettingKey })),
);
