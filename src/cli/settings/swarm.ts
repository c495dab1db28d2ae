import { setting, text, wholeNumber } from '../../core/setting.js';

/**
 * The Swarm provider (--provider swarm): replicas are the tasks of one service, reached on a network
 * the balancer shares with it. The Docker daemon is --docker-socket's.
 */
export const SWARM_SETTINGS = {
  swarmService: setting({
    flag: 'swarm-service',
    help: "the Swarm service whose tasks are the replicas (a stack's: <stack>_<service>), for --provider swarm",
    value: text('a Swarm service name, or empty', /^([a-zA-Z0-9][a-zA-Z0-9_.-]*)?$/),
    default: '',
    defaultText: 'none',
  }),
  swarmNetwork: setting({
    flag: 'swarm-network',
    help: 'network the balancer reaches the tasks on, by their IP (an attachable overlay network the balancer is on too)',
    value: text(
      "a Docker network name, or empty for the service's only network",
      /^([a-zA-Z0-9][a-zA-Z0-9_.-]*)?$/,
    ),
    default: '',
    defaultText: "the service's only network",
  }),
  swarmReplicaPort: setting({
    flag: 'swarm-replica-port',
    help: "port the service's tasks serve on",
    value: wholeNumber(1, 65535),
    default: 5000,
  }),
};
