import type { Setting } from '../core/setting.js';
import { SETTING_GROUPS, SETTINGS } from './settings/index.js';

export function helpText(version: string): string {
  const width = Math.max(...SETTINGS.map((s) => s.flag.length)) + 10;
  const line = (s: Setting) => `  --${`${s.flag} <value>`.padEnd(width)}${s.help}  [${s.env}]`;
  const options = SETTING_GROUPS.map(
    (group) =>
      `${group.title}:\n${Object.values(group.settings as Record<string, Setting>)
        .map(line)
        .join('\n')}`,
  );
  return `ringlb ${version}: a consistent-hashing HTTP load balancer

Usage:
  ringlb start [options]    start the balancer and its replicas (processes or containers)
  ringlb replica            run one replica server (SERVER_ID, PORT, HOST from the environment)
  ringlb status             show a running balancer's replicas   (ringlb status --help)
  ringlb add [NAME...]      add replicas to a running balancer   (ringlb add --help)
  ringlb rm [NAME...]       remove replicas from it              (ringlb rm --help)
  ringlb plan add|rm|ring|weight ...   what a change would move; changes nothing (ringlb plan --help)
  ringlb check [options]    check the settings, ports, TLS files, Docker and backends; start nothing
  ringlb down --etcd-endpoints URL,... --cluster-name NAME   stop a shared cluster's replicas
  ringlb --help | --version

Options for start and check (flags beat environment variables, which beat the config file):
  --${'config <file>'.padEnd(width)}JSON file with any of the settings below, in camelCase  [RINGLB_CONFIG]

${options.join('\n\n')}

Control API (on the same port):
  GET /rep                          list replicas
  POST /add     {"n":2,"hostnames":["S5","S6"]}   add replicas (body optional)
  POST|DELETE /rm {"n":1,"hostnames":["S5"]}       remove replicas (body optional)
  GET /ring                         the ring algorithm, its settings and each replica's share
  PUT /ring     {"algorithm":"maglev","balanceFactor":1.25}   switch ring settings live
  any other path                    proxied to the replica the ring picks for the hash key

Operations (on the same port):
  GET /metrics                      Prometheus metrics
  GET /dashboard                    live dashboard of the ring (updated over GET /events)
  GET /keys/hot                     the 20 hottest hash keys of the last 2 s (--hot-keys)
`;
}

export const DOWN_HELP = `Usage: ringlb down --etcd-endpoints URL,URL,... [--cluster-name NAME]

Stops every replica of a shared cluster (--membership etcd) and removes the cluster from etcd.
Balancer instances still running keep running, with no replicas.

Options:
  --etcd-endpoints <urls>   the etcd the balancers share (comma-separated)  [RINGLB_ETCD_ENDPOINTS]
  --cluster-name <name>     which cluster (default ringlb)  [RINGLB_CLUSTER_NAME]
  -h, --help                this help
`;

export const REPLICA_HELP = `Usage: ringlb replica [--cache --origin URL [--cache-size N]]

Runs one replica server (the seed's): GET /home, GET /heartbeat.

  --cache             cache mode: every GET or HEAD but /heartbeat is answered from its entries, by
                      path and query; a miss is fetched from the previous owner that ringlb's
                      x-ringlb-previous-owner names (--handoff-window), else from the origin.
                      x-cache on the answer says which: hit, peer or origin
  --origin URL        the origin misses are fetched from (http://host:port; needs --cache)
  --cache-size N      entries kept, the least recently used dropped first (default 100000)

Its other settings come from the environment:
  SERVER_ID     the number it answers with ("Hello from Server: <id>"; default 0)
  SERVER_NAME   its name, shown in its process title (default "Server <id>")
  PORT          the port to listen on (default 5000; 0 = any free port)
  HOST          the address to listen on (default 0.0.0.0)
`;
