/** nginx as the HTTP/2 peer of `npm run bench:h2`: h2c, TLS h2 and gRPC in one instance, one worker. */

export interface H2NginxPorts {
  /** Cleartext HTTP/2 with prior knowledge. */
  readonly h2c: number;
  /** TLS with ALPN h2. */
  readonly tls: number;
  /** Cleartext HTTP/2 whose requests go on with grpc_pass. */
  readonly grpc: number;
  /** HTTP/1.1 whose WebSocket upgrades go on to the WebSocket echo backend. */
  readonly ws: number;
}

/**
 * Proxies to the same HTTP/1.1 backends as ringlb (`hash $request_uri consistent`, upstream keep-alive),
 * to the gRPC backend with grpc_pass, and WebSocket upgrades to the WebSocket echo backend. `keepalive_requests` is raised so neither client nor upstream
 * connections are closed during a run. `http2Listen` is nginx's spelling of an HTTP/2 listener: Debian
 * 12's nginx 1.22 wants `listen … http2`, nginx 1.25+ `http2 on;` (the caller tries both).
 */
export function nginxH2Config(
  dir: string,
  ports: H2NginxPorts,
  backends: readonly number[],
  grpcBackend: number,
  wsBackend: number,
  tls: { readonly cert: string; readonly key: string },
  modern: boolean,
): string {
  const listen = (port: number, ssl: boolean) =>
    modern
      ? `listen 127.0.0.1:${port}${ssl ? ' ssl' : ''};\n    http2 on;`
      : `listen 127.0.0.1:${port}${ssl ? ' ssl' : ''} http2;`;
  const proxy = `location / {
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }`;
  return `worker_processes 1;
daemon off;
pid ${dir}/nginx-h2.pid;
error_log ${dir}/nginx-h2.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp-h2-body;
  proxy_temp_path ${dir}/tmp-h2-proxy;
  fastcgi_temp_path ${dir}/tmp-h2-fastcgi;
  uwsgi_temp_path ${dir}/tmp-h2-uwsgi;
  scgi_temp_path ${dir}/tmp-h2-scgi;
  keepalive_requests 1000000;
  keepalive_timeout 65s;
  http2_max_concurrent_streams 128;
  upstream backends {
    hash $request_uri consistent;
${backends.map((p) => `    server 127.0.0.1:${p};`).join('\n')}
    keepalive 64;
    keepalive_requests 1000000;
  }
  upstream grpc_backend {
    server 127.0.0.1:${grpcBackend};
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    ${listen(ports.h2c, false)}
    ${proxy}
  }
  server {
    ${listen(ports.tls, true)}
    ssl_certificate ${tls.cert};
    ssl_certificate_key ${tls.key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ${proxy}
  }
  server {
    ${listen(ports.grpc, false)}
    location / { grpc_pass grpc://grpc_backend; }
  }
  server {
    listen 127.0.0.1:${ports.ws};
    location / {
      proxy_pass http://127.0.0.1:${wsBackend};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_read_timeout 1h;
    }
  }
}
`;
}
