// What the balancer's open fds are, by kind: its listeners, the clients' connections to it, its
// connections to replicas, to etcd or anything else, and non-socket fds (files, pipes, epoll...).
// Read from /proc/<pid>/fd and /proc/net/tcp{,6}, so that an fd count that did not come back can be
// explained (idle upstream keep-alive is not a leak; a client connection that outlived its client is).
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

interface TcpSocket {
  readonly localPort: number;
  readonly remotePort: number;
  /** /proc/net/tcp's state: 0A is LISTEN, 01 ESTABLISHED, 08 CLOSE_WAIT... */
  readonly state: string;
}

const STATES: Record<string, string> = {
  '01': 'established',
  '06': 'time-wait',
  '07': 'close',
  '08': 'close-wait',
  '09': 'last-ack',
  '0A': 'listen',
  '0B': 'closing',
};

function tcpSockets(): Map<string, TcpSocket> {
  const byInode = new Map<string, TcpSocket>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const port = (address: string) => parseInt(address.split(':')[1] ?? '0', 16);
      byInode.set(fields[9]!, {
        localPort: port(fields[1]!),
        remotePort: port(fields[2]!),
        state: fields[3]!,
      });
    }
  }
  return byInode;
}

/**
 * Established connections the balancer keeps by design (bounded by pooledBound):
 * to replicas (its upstream pool: an h2c session stays open, HTTP/1.1 keep-alive idles out) and to
 * etcd members (its membership client).
 */
const POOLED = ['replica established', 'etcd established'];

export function pooled(kinds: Record<string, number>): number {
  return POOLED.reduce((sum, kind) => sum + (kinds[kind] ?? 0), 0);
}

/**
 * How many pooled connections the balancer may keep: one per process and peer for proxying (every
 * process proxies, the primary too), and one more per peer for the primary's heartbeat and
 * membership clients.
 */
export function pooledBound(processes: number, peers: number): number {
  return (processes + 1) * peers;
}

export interface FdPeers {
  /** The balancer's own listening ports (client connections arrive there). */
  readonly listenPorts: ReadonlySet<number>;
  /** Ports of the replicas (the soak's own, or ringlb's). */
  readonly replicaPorts: () => ReadonlySet<number>;
  /** Other peers worth naming, by port (e.g. the etcd members' client ports). */
  readonly named?: ReadonlyMap<number, string>;
}

/** Counts of the processes' fds by kind, e.g. {"client established": 3, "replica established": 6, ...}. */
export function fdKinds(pids: readonly number[], peers: FdPeers): Record<string, number> {
  const sockets = tcpSockets();
  const replicaPorts = peers.replicaPorts();
  const kinds: Record<string, number> = {};
  const count = (kind: string) => (kinds[kind] = (kinds[kind] ?? 0) + 1);
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      if (inode === undefined) {
        count(link.startsWith('/') ? 'file' : (link.split(':')[0] ?? 'other'));
        continue;
      }
      const tcp = sockets.get(inode);
      if (!tcp) {
        count('unix or udp socket');
        continue;
      }
      const state = STATES[tcp.state] ?? tcp.state;
      if (state === 'listen') count('listener');
      else if (peers.listenPorts.has(tcp.localPort)) count(`client ${state}`);
      else if (replicaPorts.has(tcp.remotePort)) count(`replica ${state}`);
      else if (peers.named?.has(tcp.remotePort)) count(`${peers.named.get(tcp.remotePort)!} ${state}`);
      else count(`other tcp ${state}`);
    }
  }
  return kinds;
}

/** "client established 3, replica established 6" (sorted by kind), or "none". */
export function describeKinds(kinds: Record<string, number>): string {
  const entries = Object.entries(kinds).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? 'none' : entries.map(([kind, n]) => `${kind} ${n}`).join(', ');
}
