import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, it } from 'vitest';

/** Helpers for end-to-end tests against the real Docker engine on this machine. */
const run = promisify(execFile);

export const DOCKER_SOCKET = '/var/run/docker.sock';
/** Built by `make build BASE=local` (CI: .ci/docker.sh). */
export const TEST_IMAGE = process.env.RINGLB_TEST_IMAGE ?? 'ringlb:latest';
const LABEL_CLUSTER = 'io.ringlb.cluster';

export async function docker(...args: string[]): Promise<string> {
  const { stdout } = await run('docker', args, { timeout: 60_000 });
  return stdout.trim();
}

async function dockerProblem(): Promise<string | undefined> {
  if (!existsSync(DOCKER_SOCKET)) return `no Docker daemon socket at ${DOCKER_SOCKET}`;
  try {
    await docker('version', '--format', '{{.Server.Version}}');
  } catch (error) {
    return `the Docker daemon does not answer: ${(error as Error).message}`;
  }
  try {
    await docker('image', 'inspect', TEST_IMAGE);
  } catch {
    return `image ${TEST_IMAGE} is missing: run "make build BASE=local"`;
  }
  return undefined;
}

async function composeProblem(): Promise<string | undefined> {
  for (const [command, ...args] of [
    ['docker', 'compose', 'version'],
    ['docker-compose', 'version'],
  ]) {
    try {
      await run(command!, args, { timeout: 30_000 });
      return undefined;
    } catch {
      // try the next form
    }
  }
  return 'neither "docker compose" nor "docker-compose" is installed';
}

const dockerProblemFound = await dockerProblem();
const composeMissing = dockerProblemFound ?? (await composeProblem());

/**
 * A suite that needs Docker. Without Docker it is skipped on a developer's machine, with the reason
 * in its name, and fails in CI (CI=true), where Docker must be there.
 */
export function describeDocker(name: string, body: () => void, needs: { compose?: boolean } = {}): void {
  const problem = needs.compose ? composeMissing : dockerProblemFound;
  if (problem === undefined) describe(name, body);
  else if (process.env.CI === 'true') {
    describe(name, () => {
      it('has a Docker engine and the ringlb image', () => {
        throw new Error(problem);
      });
    });
  } else describe.skip(`${name} (skipped: ${problem})`, body);
}

/** A cluster name no other test (or earlier run) uses. */
export function uniqueCluster(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
}

export interface ContainerRow {
  readonly name: string;
  readonly id: string;
  readonly state: string;
}

/** Every container (running or not) labelled with the cluster, sorted by name. */
export async function containersOf(cluster: string): Promise<ContainerRow[]> {
  const out = await docker(
    'ps',
    '-a',
    '--no-trunc',
    '--filter',
    `label=${LABEL_CLUSTER}=${cluster}`,
    '--format',
    '{{.Names}}\t{{.ID}}\t{{.State}}',
  );
  return out
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [name, id, state] = line.split('\t');
      return { name: name!, id: id!, state: state! };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Removes every container of the cluster; for afterAll, so it never throws. */
export async function removeCluster(cluster: string): Promise<void> {
  try {
    const ids = (await containersOf(cluster)).map((c) => c.id);
    if (ids.length > 0) await docker('rm', '-f', ...ids);
  } catch (error) {
    console.error(`cleanup of cluster ${cluster} failed: ${(error as Error).message}`);
  }
}
