/** Config files for the peers the proxy benchmark measures ringlb against; every path is under `dir`. */

/** Where the backends' 1 MiB download lives, under the benchmark's directory. */
export const DOWNLOAD_FILE = 'www/download.bin';

/**
 * nginx `return 200` backends, one instance per port, one worker each; `/download/…` sends the 1 MiB
 * file. `/upload/…` reads the whole body before it answers: a bare `return 200` answers as soon as the
 * head has arrived and closes on the rest, so a proxy in front saw most 1 MiB uploads cut short (wrk
 * counted nginx's as done, with a read error each) and the upload ratio compared whole bodies with cut
 * ones. nginx reads a body whole only for a proxied request (`proxy_request_buffering` on, the
 * default), so the upload location proxies a bodyless request to the same backend's `return 200`.
 */
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
  client_max_body_size 0;
  sendfile on;
  upstream self {
    server 127.0.0.1:${port};
    keepalive 16;
  }
  server {
    listen 127.0.0.1:${port};
    default_type application/json;
    location / { return 200 '{"message":"Hello from Server: ${port}","status":"successful"}'; }
    location /upload/ {
      client_body_buffer_size 2m;
      proxy_pass http://self/read;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
    location /download/ {
      default_type application/octet-stream;
      root ${dir};
      try_files /${DOWNLOAD_FILE} =404;
    }
  }
}
`;
}

/**
 * nginx as the reference proxy: one worker, consistent hash on the URI, upstream keep-alive. Bodies
 * stream both ways without touching disk (`proxy_request_buffering off`, no temporary files), the
 * way a proxy in front of an API is set up, so nginx is measured at its best.
 */
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
  client_max_body_size 0;
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
      proxy_request_buffering off;
      proxy_max_temp_file_size 0;
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
