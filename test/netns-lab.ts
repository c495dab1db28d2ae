import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * Hosts made of Linux network namespaces, for tests of balancers on several machines: each host is
 * a namespace with one veth link to a bridge that lives in a namespace of its own (the switch), and
 * the test process reaches every host through one more link of its own on that bridge. Nothing is
 * added to this machine's network but that one link, and deleting the switch namespace takes the
 * bridge and every link with it. Names carry a random id, so runs side by side do not meet.
 */
export interface LabHost {
  readonly name: string;
  readonly namespace: string;
  readonly address: string;
}

/** Why network namespaces cannot be made here, or undefined when they can. */
export function netnsProblem(): string | undefined {
  const probe = `rlb-probe-${randomBytes(3).toString('hex')}`;
  const added = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (added.error) return `the ip command is not available (${added.error.message}): install iproute2`;
  if (added.status !== 0) return `ip netns add is not permitted here: ${added.stderr.trim()}`;
  const iptables = spawnSync('ip', ['netns', 'exec', probe, 'iptables', '-L', '-n'], { encoding: 'utf8' });
  spawnSync('ip', ['netns', 'del', probe]);
  if (iptables.status !== 0) return `iptables does not run in a namespace: ${(iptables.stderr ?? '').trim()}`;
  return undefined;
}

const run = (args: readonly string[]) => execFileSync(args[0]!, args.slice(1), { stdio: 'pipe' });

/** A /24 of 10.0.0.0/8 that no route of this machine covers. */
function freeSubnet(): string {
  const routes = execFileSync('ip', ['-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' });
  for (let attempt = 0; attempt < 50; attempt++) {
    const [b, c] = [200 + (randomBytes(1)[0]! % 50), randomBytes(1)[0]!];
    const subnet = `10.${b}.${c}`;
    if (
      !routes.includes(`${subnet}.`) &&
      !routes.includes(`10.${b}.0.0/16`) &&
      !/\b10\.0\.0\.0\/8\b/.test(routes)
    )
      return subnet;
  }
  throw new Error('no free 10.x.y.0/24 for the lab');
}

export class NetnsLab {
  readonly id = randomBytes(3).toString('hex');
  readonly subnet = freeSubnet();
  readonly #switch = `rlb-${this.id}-switch`;
  /** This process's own link onto the bridge: how the test reaches the hosts. */
  readonly #client = `rlb${this.id}c`;
  readonly clientAddress = `${this.subnet}.254`;
  readonly hosts = new Map<string, LabHost>();
  readonly #processes: ChildProcess[] = [];
  readonly #onExit = () => this.#removeSync();
  #removed = false;

  constructor() {
    process.on('exit', this.#onExit);
    try {
      run(['ip', 'netns', 'add', this.#switch]);
      this.#inSwitch(['ip', 'link', 'add', 'br0', 'type', 'bridge']);
      this.#inSwitch(['ip', 'link', 'set', 'br0', 'up']);
      run([
        'ip',
        'link',
        'add',
        this.#client,
        'type',
        'veth',
        'peer',
        'name',
        'client',
        'netns',
        this.#switch,
      ]);
      this.#inSwitch(['ip', 'link', 'set', 'client', 'master', 'br0', 'up']);
      run(['ip', 'addr', 'add', `${this.clientAddress}/24`, 'dev', this.#client]);
      run(['ip', 'link', 'set', this.#client, 'up']);
    } catch (error) {
      this.#removeSync();
      throw error;
    }
  }

  #inSwitch(args: readonly string[]): void {
    run(['ip', 'netns', 'exec', this.#switch, ...args]);
  }

  /** A new host on the bridge, at the next address of the lab's /24. */
  addHost(name: string): LabHost {
    const index = this.hosts.size + 1;
    const host = { name, namespace: `rlb-${this.id}-${name}`, address: `${this.subnet}.${index}` };
    run(['ip', 'netns', 'add', host.namespace]);
    this.hosts.set(name, host);
    const port = `p${index}`;
    run([
      'ip',
      'link',
      'add',
      port,
      'netns',
      this.#switch,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      host.namespace,
    ]);
    this.#inSwitch(['ip', 'link', 'set', port, 'master', 'br0', 'up']);
    this.exec(host, ['ip', 'link', 'set', 'lo', 'up']);
    this.exec(host, ['ip', 'addr', 'add', `${host.address}/24`, 'dev', 'eth0']);
    this.exec(host, ['ip', 'link', 'set', 'eth0', 'up']);
    return host;
  }

  host(name: string): LabHost {
    const host = this.hosts.get(name);
    if (!host) throw new Error(`no lab host ${name}`);
    return host;
  }

  /** Runs a command on a host and waits for it. */
  exec(host: LabHost, args: readonly string[]): void {
    run(['ip', 'netns', 'exec', host.namespace, ...args]);
  }

  /** Starts a long-running process on a host; it is killed when the lab is removed. */
  spawn(host: LabHost, command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', host.namespace, command, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    this.#processes.push(child);
    return child;
  }

  /** Pids of the processes on a host whose environment has `entry` (e.g. `RINGLB_REPLICA_DETACHED=1`). */
  pidsOn(host: LabHost, entry: string): number[] {
    const pids = spawnSync('ip', ['netns', 'pids', host.namespace], { encoding: 'utf8' }).stdout ?? '';
    return pids
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(entry);
        } catch {
          return false;
        }
      });
  }

  /** Drops every packet between two hosts, both ways (on both sides: a cut link). */
  cut(a: LabHost, b: LabHost): void {
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      this.exec(from, ['iptables', '-I', 'OUTPUT', '-d', to.address, '-j', 'DROP']);
      this.exec(from, ['iptables', '-I', 'INPUT', '-s', to.address, '-j', 'DROP']);
    }
  }

  /** Undoes `cut`. */
  mend(a: LabHost, b: LabHost): void {
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      this.exec(from, ['iptables', '-D', 'OUTPUT', '-d', to.address, '-j', 'DROP']);
      this.exec(from, ['iptables', '-D', 'INPUT', '-s', to.address, '-j', 'DROP']);
    }
  }

  /** Takes a host off the bridge (its link down), or puts it back. */
  unplug(host: LabHost): void {
    this.exec(host, ['ip', 'link', 'set', 'eth0', 'down']);
  }

  plug(host: LabHost): void {
    this.exec(host, ['ip', 'link', 'set', 'eth0', 'up']);
  }

  /**
   * Every process on a lab host (ours and whatever they started, found by namespace), killed; then
   * every namespace deleted, which removes the bridge and all links. Safe to call twice.
   */
  async remove(): Promise<void> {
    for (const child of this.#processes) if (child.exitCode === null) child.kill('SIGKILL');
    this.#removeSync();
  }

  #removeSync(): void {
    if (this.#removed) return;
    this.#removed = true;
    process.off('exit', this.#onExit);
    for (const child of this.#processes)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const host of this.hosts.values()) {
      // Processes that left the ones we spawned (detached replicas, etcd's children) are found here.
      const pids = spawnSync('ip', ['netns', 'pids', host.namespace], { encoding: 'utf8' }).stdout ?? '';
      for (const pid of pids.split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone already
        }
      }
    }
    for (const host of this.hosts.values()) spawnSync('ip', ['netns', 'del', host.namespace]);
    spawnSync('ip', ['netns', 'del', this.#switch]);
    spawnSync('ip', ['link', 'del', this.#client]);
  }

  /** Whether anything of this lab is left on the machine (for the test that checks cleanup). */
  leftovers(): string[] {
    const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
    return [
      ...namespaces.split('\n').filter((line) => line.includes(`rlb-${this.id}-`)),
      ...links.split('\n').filter((line) => line.includes(this.#client)),
    ];
  }
}
