/**
 * Container names for replicas. A name given to `/add` is the container's name as it is (so
 * `docker ps` and the network's DNS show the seed's hostnames); a generated name "Server N" has a
 * space, which Docker refuses, and becomes `<cluster>-server-N`. That form is reserved: a hostname
 * that looks like it is refused, so no two replicas can map to one container.
 */

/** What the Docker daemon accepts as a container name (its own rule: two characters at least). */
const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const GENERATED = /^Server (\d+)$/;

export function containerName(cluster: string, replicaName: string): string {
  const generated = GENERATED.exec(replicaName);
  if (generated) return `${cluster}-server-${generated[1]}`;
  if (!DOCKER_NAME.test(replicaName)) {
    throw new Error(`replica name ${JSON.stringify(replicaName)} cannot be a container name`);
  }
  return replicaName;
}

/** Why a hostname given to `/add` cannot name a container, or undefined when it can. */
export function containerNameProblem(cluster: string, hostname: string): string | undefined {
  if (!DOCKER_NAME.test(hostname)) {
    return `hostname '${hostname}' cannot name a container: Docker needs 2 or more letters, digits, '.', '_' or '-'`;
  }
  if (hostname.startsWith(`${cluster}-server-`)) {
    return `hostname '${hostname}' is reserved for the container of a generated replica name ("Server N" → "${cluster}-server-N")`;
  }
  return undefined;
}
