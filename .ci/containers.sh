# Sourced by .ci/run: what scripts/image-smoke.sh needs, made ready in the background while the npm installs run.
# A Docker engine if one answers; otherwise Podman from Debian (with runc, cgroupfs and the lower limits of
# .ci/containers.conf: crun fails in CI's VM), and debootstrap for the stand-in base image. Exports CONTAINER_ENGINE
# (and CONTAINERS_CONF for Podman) for the smoke test: containers_env.

containers_engine() {
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then echo docker; else echo podman; fi
}

# apt-get, waiting for another install (chromium, PostgreSQL) to release the lock rather than failing on it.
containers_apt() {
  local attempt
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    apt-get -o DPkg::Lock::Timeout=120 "$@" && return 0
    echo "[containers] apt-get $1 failed (attempt $attempt), retrying in 15 s"
    sleep 15
  done
  return 1
}

# The engine and its settings, for this shell and the smoke test it starts.
containers_env() {
  export CONTAINER_ENGINE
  CONTAINER_ENGINE=$(containers_engine)
  [ "$CONTAINER_ENGINE" = docker ] || export CONTAINERS_CONF="$PWD/.ci/containers.conf"
}

# Installs what is missing and makes sure the base image is in the engine's store (built once, then kept there).
containers_prepare() {
  containers_env
  if [ "$CONTAINER_ENGINE" = podman ]; then
    local missing=()
    command -v podman >/dev/null || missing+=(podman)
    command -v runc >/dev/null || [ -x /usr/sbin/runc ] || missing+=(runc)
    command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
    if [ "${#missing[@]}" -gt 0 ]; then
      echo "[containers] installing podman buildah runc debootstrap (missing: ${missing[*]})"
      containers_apt update -q >/dev/null &&
        DEBIAN_FRONTEND=noninteractive containers_apt install -y -q podman buildah runc debootstrap >/dev/null ||
        return 1
    fi
  fi
  bash scripts/node-base-image.sh "$CONTAINER_ENGINE"
}
