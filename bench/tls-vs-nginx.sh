#!/usr/bin/env bash
# TLS termination: ringlb (--workers 1) against nginx (1 worker) in front of the same nginx backend,
# HTTP/1.1 over TLS with wrk and HTTP/2 over TLS with h2load, taken in the same run.
# Needs nginx, wrk, h2load (Debian: nginx wrk nghttp2-client) and openssl; run `npm run build` first.
# Usage: bench/tls-vs-nginx.sh [seconds=5] [connections=64]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-5}
CONNS=${2:-64}
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$WORK/key.pem" \
  -out "$WORK/cert.pem" -days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>/dev/null

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
BACKEND=$(free_port); NGINX=$(free_port); RINGLB=$(free_port)

cat >"$WORK/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  upstream backend { server 127.0.0.1:$BACKEND; keepalive 64; }
  server { listen 127.0.0.1:$BACKEND; location / { return 200 "ok\n"; } }
  server {
    listen 127.0.0.1:$NGINX ssl;
    http2 on;
    ssl_certificate $WORK/cert.pem;
    ssl_certificate_key $WORK/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
CONF
# Older nginx (Debian 12's 1.22) spells HTTP/2 on the listen line.
if ! nginx -t -c "$WORK/nginx.conf" -p "$WORK" >/dev/null 2>&1; then
  sed -i 's/ ssl;$/ ssl http2;/; /http2 on;/d' "$WORK/nginx.conf"
fi
nginx -c "$WORK/nginx.conf" -p "$WORK"

node dist/cli/main.js start --host 127.0.0.1 --port "$RINGLB" --workers 1 --provider static \
  --backends "http://127.0.0.1:$BACKEND" --tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem" \
  --log-level warn &
PIDS+=($!)
for _ in $(seq 50); do curl -sk "https://127.0.0.1:$RINGLB/x" >/dev/null 2>&1 && break; sleep 0.1; done

h1() { wrk -t1 -c"$CONNS" -d"${SECONDS_EACH}s" --latency "https://127.0.0.1:$1/x" | awk '/Requests\/sec/ {r=$2} / 99%/ {p=$2} END {print r, p}'; }
h2() { h2load -c"$CONNS" -m10 -D"$SECONDS_EACH" "https://127.0.0.1:$1/x" 2>/dev/null | awk '/^finished in/ {r=$4} END {print r}'; }

read -r NGINX_H1 NGINX_H1_P99 < <(h1 "$NGINX")
read -r RINGLB_H1 RINGLB_H1_P99 < <(h1 "$RINGLB")
NGINX_H2=$(h2 "$NGINX")
RINGLB_H2=$(h2 "$RINGLB")
echo "| protocol | nginx req/s | ringlb req/s | ratio | nginx p99 | ringlb p99 |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
echo "| HTTP/1.1 over TLS (wrk -c$CONNS) | $NGINX_H1 | $RINGLB_H1 | $(echo "$RINGLB_H1 $NGINX_H1" | awk '{printf "%.2f", $1/$2}') | $NGINX_H1_P99 | $RINGLB_H1_P99 |"
echo "| HTTP/2 over TLS (h2load -c$CONNS -m10) | $NGINX_H2 | $RINGLB_H2 | $(echo "$RINGLB_H2 $NGINX_H2" | awk '{printf "%.2f", $1/$2}') | – | – |"
