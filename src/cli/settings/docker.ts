import { oneOf, optionalSetting, setting, text } from '../../core/setting.js';

/** The Docker provider (--provider docker): replicas are containers. */
export const DOCKER_SETTINGS = {
  dockerSocket: setting({
    flag: 'docker-socket',
    help: "the Docker daemon's socket (also the swarm provider's: a manager's)",
    value: text('a file name'),
    default: '/var/run/docker.sock',
  }),
  dockerImage: setting({
    flag: 'docker-image',
    help: 'image replica containers run, with the command "replica"',
    value: text('an image name'),
    default: 'ringlb:latest',
  }),
  dockerNetwork: setting({
    flag: 'docker-network',
    help: 'network replicas join, reached by container name (balancer in a container); empty: ports published on the host',
    value: text('a Docker network name, or empty to publish ports', /^([a-zA-Z0-9][a-zA-Z0-9_.-]*)?$/),
    default: '',
    defaultText: 'empty',
  }),
  dockerPublishHost: optionalSetting({
    flag: 'docker-publish-host',
    help: 'host address replica ports are published on without a network',
    value: text('an address'),
    unsetText: '--advertise-host',
  }),
  dockerOnExit: setting({
    flag: 'docker-on-exit',
    help: 'remove or keep replica containers when the balancer exits; kept ones are adopted by the next balancer',
    value: oneOf(['remove', 'keep']),
    default: 'remove',
  }),
};
