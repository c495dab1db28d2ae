/**
 * The workloads of `npm run bench:proxy` (issue 14) and the wrk Lua script that produces each. Every
 * request carries a different path (and the same id in `?k=` and `x-request-id`), so nginx's
 * `$request_uri`, HAProxy's `uri whole`, ringlb's `uri` and its default `request-id` key all spread the
 * load over every replica.
 */
export const WORKLOAD_NAMES = ['get', 'post1k', 'mix', 'upload1m', 'download1m'] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

export interface Workload {
  readonly name: WorkloadName;
  /** What the report calls it. */
  readonly title: string;
  /** Throughput in requests per second, or payload MiB per second for the 1 MiB transfers. */
  readonly unit: 'req/s' | 'MiB/s';
  /** Payload bytes one request moves (request body for uploads, response body for downloads). */
  readonly payloadBytes: number;
}

export const MIB = 2 ** 20;

/** Bytes of the body the backends send for a `/download/…` request. */
export const DOWNLOAD_BYTES = MIB;

export const WORKLOADS: Readonly<Record<WorkloadName, Workload>> = {
  get: { name: 'get', title: 'GET', unit: 'req/s', payloadBytes: 0 },
  post1k: { name: 'post1k', title: 'POST 1 KiB', unit: 'req/s', payloadBytes: 1024 },
  mix: { name: 'mix', title: '90 % GET / 10 % POST 1 KiB, same connections', unit: 'req/s', payloadBytes: 0 },
  upload1m: { name: 'upload1m', title: 'POST 1 MiB upload', unit: 'MiB/s', payloadBytes: MIB },
  download1m: {
    name: 'download1m',
    title: 'GET 1 MiB download',
    unit: 'MiB/s',
    payloadBytes: DOWNLOAD_BYTES,
  },
};

/** Parses `--workloads get,post1k,…` (or `all`); unknown names are refused, naming the known ones. */
export function parseWorkloads(text: string): Workload[] {
  const names = text.trim() === 'all' ? [...WORKLOAD_NAMES] : text.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !(WORKLOAD_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0 || names.length === 0) {
    throw new Error(
      `--workloads: unknown workload ${JSON.stringify(unknown[0] ?? '')}; use ${WORKLOAD_NAMES.join(', ')} or all`,
    );
  }
  return [...new Set(names)].map((name) => WORKLOADS[name as WorkloadName]);
}

/**
 * Distinct prepared requests per workload: many for small requests, so keys spread evenly; fewer for
 * 1 MiB uploads, which wrk keeps in memory whole (48 MiB).
 */
function preparedCount(workload: Workload): number {
  return workload.name === 'upload1m' ? 48 : 4096;
}

/** The Lua expression for the request with id `id` of `workload`, and how often it is a POST. */
function requestLua(workload: Workload): string {
  const get = (prefix: string) =>
    `wrk.format("GET", "/${prefix}/" .. id .. "?k=" .. id, { ["x-request-id"] = tostring(id) })`;
  const post = (prefix: string, bodyVar: string) =>
    `wrk.format("POST", "/${prefix}/" .. id .. "?k=" .. id, { ["x-request-id"] = tostring(id), ["content-type"] = "application/octet-stream" }, ${bodyVar})`;
  switch (workload.name) {
    case 'get':
      return get('home');
    case 'post1k':
      return post('home', 'small');
    case 'mix':
      // One request in ten is a POST; wrk's single thread hands requests to its connections in turn,
      // so every connection carries both kinds.
      return `(i % 10 == 0) and ${post('home', 'small')} or ${get('home')}`;
    case 'upload1m':
      return post('upload', 'big');
    case 'download1m':
      return get('download');
  }
}

/**
 * The wrk script for one workload: requests prepared in `init` (same seed every run, so every target
 * gets the same sequence), and a last line `RESULT {json}` with counts, bytes read and latency
 * percentiles in µs.
 */
export function wrkScript(workload: Workload): string {
  return `local requests = {}
local count = ${preparedCount(workload)}
local n = 0
init = function(args)
  math.randomseed(12345)
  local small = string.rep("x", 1024)
  local big = ${workload.name === 'upload1m' ? `string.rep("y", ${MIB})` : 'nil'}
  for i = 1, count do
    local id = math.random(1, 999999)
    requests[i] = ${requestLua(workload)}
  end
end
request = function()
  n = n % count + 1
  return requests[n]
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests":%d,"durationUs":%d,"bytes":%d,"p50":%d,"p99":%d,"p999":%d,"max":%d,' ..
    '"connectErrors":%d,"readErrors":%d,"writeErrors":%d,"statusErrors":%d,"timeouts":%d}\\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(99),
    latency:percentile(99.9), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
`;
}

/** Throughput of a run in the workload's unit. */
export function throughput(workload: Workload, requests: number, durationUs: number): number {
  const perSecond = requests / (durationUs / 1e6);
  return workload.unit === 'MiB/s' ? (perSecond * workload.payloadBytes) / MIB : perSecond;
}
