import type { ReplicaSpec } from '../provider.js';
import { replicaLabels } from './labels.js';

/** The port a replica listens on inside its container. */
export const REPLICA_PORT = 5000;

export interface ContainerSpecOptions {
  readonly cluster: string;
  readonly image: string;
  /** User-defined network to attach to (replicas reached by name), or undefined to publish a port. */
  readonly network: string | undefined;
  /** Host address the port is published on when there is no network. */
  readonly publishHost: string;
  /** Seconds Docker waits after SIGTERM before SIGKILL. */
  readonly stopTimeoutS: number;
}

/**
 * The body of `POST /containers/create` for one replica: the image's `replica` command with the
 * replica's id, an init as process 1 (signals forwarded, zombies reaped) so `docker stop` is quick,
 * no restart policy (the balancer replaces failed replicas itself, under the same name and number).
 */
export function replicaContainerSpec(spec: ReplicaSpec, options: ContainerSpecOptions): object {
  const port = `${REPLICA_PORT}/tcp`;
  return {
    Image: options.image,
    Cmd: ['replica'],
    Env: [`SERVER_ID=${spec.number}`, `PORT=${REPLICA_PORT}`, 'HOST=0.0.0.0'],
    Labels: replicaLabels(options.cluster, spec),
    ExposedPorts: { [port]: {} },
    StopTimeout: options.stopTimeoutS,
    HostConfig: {
      Init: true,
      RestartPolicy: { Name: 'no' },
      ...(options.network === undefined
        ? { PortBindings: { [port]: [{ HostIp: options.publishHost, HostPort: '' }] } }
        : { NetworkMode: options.network }),
    },
  };
}

/** Where the balancer reaches a replica container: by name on the network, or at its published port. */
export function replicaOrigin(
  containerName: string,
  ports: Readonly<Record<string, { HostIp: string; HostPort: string }[] | null>> | null | undefined,
  options: Pick<ContainerSpecOptions, 'network' | 'publishHost'>,
): string | undefined {
  if (options.network !== undefined) return `http://${containerName}:${REPLICA_PORT}`;
  const bindings = ports?.[`${REPLICA_PORT}/tcp`] ?? [];
  const binding = bindings.find((b) => b.HostIp === options.publishHost) ?? bindings[0];
  if (!binding?.HostPort) return undefined;
  return `http://${options.publishHost}:${binding.HostPort}`;
}
