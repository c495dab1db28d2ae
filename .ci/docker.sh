#!/usr/bin/env bash
# Docker for the end-to-end tests: installs the engine and compose from Debian when missing, starts
# the daemon unless one answers, waits for it, and builds ringlb:latest on a base image made from
# this machine's node (no container registry is reachable here).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || missing+=(docker-compose)
command -v curl >/dev/null || missing+=(curl)
command -v make >/dev/null || missing+=(make)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! docker version >/dev/null 2>&1; then
  echo "starting dockerd (log: /tmp/ringlb-dockerd.log)"
  nohup dockerd >/tmp/ringlb-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker version >/dev/null 2>&1 && break
    sleep 1
  done
  if ! docker version >/dev/null 2>&1; then
    tail -n 50 /tmp/ringlb-dockerd.log
    echo "dockerd did not come up within 60 s" >&2
    exit 1
  fi
fi

make build BASE=local
