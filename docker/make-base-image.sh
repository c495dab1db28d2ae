#!/usr/bin/env bash
# Makes a Node base image with no registry: a root filesystem holding this machine's `node` (and npm),
# a POSIX shell and `env` for npm's scripts, the shared libraries `ldd` lists for them, and the few
# files a container needs (/etc/passwd with a `node` user, /tmp), imported with `docker import`.
#   docker/make-base-image.sh [TAG]      (default TAG: ringlb-base:local)
set -euo pipefail
tag="${1:-ringlb-base:local}"
node_bin="$(readlink -f "$(command -v node)")"
npm_dir="$(readlink -f "$(dirname "$(readlink -f "$(command -v npm)")")/..")"
sh_bin="$(readlink -f /bin/sh)"
env_bin="$(readlink -f "$(command -v env)")"

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,usr/bin,usr/local/bin,usr/local/lib/node_modules,etc,tmp,home/node,app}
chmod 1777 "$root/tmp"

cp "$node_bin" "$root/usr/local/bin/node"
cp "$sh_bin" "$root/bin/sh"
cp "$env_bin" "$root/usr/bin/env"
cp -r "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"

# Every library the binaries link, at the path the loader looks for it (the loader itself included).
for bin in "$node_bin" "$sh_bin" "$env_bin"; do
  ldd "$bin" | grep -oE '/[^ ]+' | while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
done

printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\n' >"$root/etc/group"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
# The machine's trust store, so npm in a build reaches the registry the way the machine does.
mkdir -p "$root/etc/ssl/certs"
cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
chown 1000:1000 "$root/home/node"

tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change 'CMD ["node"]' \
  - "$tag" >/dev/null
echo "$tag: node $("$node_bin" --version) from $node_bin"
