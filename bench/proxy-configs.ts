/** Config files for the peers the proxy benchmark measures ringlb against; every path is under `dir`. */

/** nginx `return 200` backends: one instance per port, one worker each. */
export function nginxBackendConfig(dir: string, port: number): string {
  return `worker_processes 1;
daemon off;
pid ${dir}/nginx-backend-${port}.pid;
error_log ${dir}/nginx-backend-${port}.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp-${port}-body;
  proxy_temp_path ${dir}/tmp-${port}-proxy;
  fastcgi_temp_path ${dir}/tmp-${port}-fastcgi;
  uwsgi_temp_path ${dir}/tmp-${port}-uwsgi;
  scgi_temp_path ${dir}/tmp-${port}-scgi;
  keepalive_requests 1000000;
  keepalive_timeout 65s;
  server {
    listen 127.0.0.1:${port};
    default_type application/json;
    location / { return 200 '{"message":"Hello from Server: ${port}","status":"successful"}'; }
  }
}
`;
}

/** nginx as the reference proxy: one worker, consistent hash on the URI, upstream keep-alive. */
export function nginxProxyConfig(dir: string, port: number, backends: readonly number[]): string {
  return `worker_processes 1;
daemon off;
pid ${dir}/nginx-proxy.pid;
error_log ${dir}/nginx-proxy.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp-proxy-body;
  proxy_temp_path ${dir}/tmp-proxy-proxy;
  fastcgi_temp_path ${dir}/tmp-proxy-fastcgi;
  uwsgi_temp_path ${dir}/tmp-proxy-uwsgi;
  scgi_temp_path ${dir}/tmp-proxy-scgi;
  keepalive_requests 1000000;
  keepalive_timeout 65s;
  upstream backends {
    hash $request_uri consistent;
${backends.map((p) => `    server 127.0.0.1:${p};`).join('\n')}
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

/** HAProxy as the second reference: one thread, consistent hash on the whole URI, connection reuse. */
export function haproxyConfig(port: number, backends: readonly number[]): string {
  return `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  option http-keep-alive
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  timeout http-keep-alive 65s
frontend bench
  bind 127.0.0.1:${port}
  default_backend backends
backend backends
  balance uri whole
  hash-type consistent
  http-reuse always
${backends.map((p, i) => `  server b${i + 1} 127.0.0.1:${p}`).join('\n')}
`;
}

/**
 * wrk script: 4096 prepared GETs with varied URIs and `x-request-id` values (so every proxy's hash
 * spreads the load), and a last line `RESULT {json}` with the counts and latency percentiles in µs.
 */
export const WRK_SCRIPT = `local requests = {}
local count = 4096
local next = 0
init = function(args)
  math.randomseed(12345)
  for i = 1, count do
    local id = math.random(1, 999999)
    requests[i] = wrk.format("GET", "/home?k=" .. id, { ["x-request-id"] = tostring(id) })
  end
end
request = function()
  next = next % count + 1
  return requests[next]
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests":%d,"durationUs":%d,"p50":%d,"p99":%d,"p999":%d,"max":%d,' ..
    '"connectErrors":%d,"readErrors":%d,"writeErrors":%d,"statusErrors":%d,"timeouts":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency:percentile(99.9), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
`;
