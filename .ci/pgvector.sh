# Sourced by .ci/run: installs PostgreSQL 15 with pgvector and starts a throwaway cluster on a loopback port, then
# exports PGVECTOR_TEST_URL for test/pgvector. It never exits the shell that sources it: when anything here cannot be
# done, the variable stays unset, and the caller decides (`.ci/run` fails with one line; under CI=true the pgvector
# suites fail too; on a developer's machine they skip with a printed reason).
#
# Debian bookworm ships PostgreSQL 15 but no pgvector package, so when `postgresql-15-pgvector` cannot be installed
# the extension is built from Debian's own pgvector source package (fetched with a private apt source list, so the
# machine's apt configuration is left as it was) against postgresql-server-dev-15.

PGVECTOR_PG_BIN=/usr/lib/postgresql/15/bin
# A free loopback port unless one is given: a cluster left running elsewhere must not make the tests skip.
PGVECTOR_PORT="${PGVECTOR_PORT:-$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})" 2>/dev/null || echo 55432)}"

pgvector_log() { echo "[pgvector] $*"; }

pgvector_install() {
  export DEBIAN_FRONTEND=noninteractive
  if [ ! -x "$PGVECTOR_PG_BIN/initdb" ]; then
    apt-get update -q >/dev/null && apt-get install -y -q postgresql-15 >/dev/null || return 1
  fi
  [ -f /usr/share/postgresql/15/extension/vector.control ] && return 0
  apt-get install -y -q postgresql-15-pgvector >/dev/null 2>&1 && return 0

  pgvector_log "no postgresql-15-pgvector package; building pgvector from Debian's source package"
  apt-get update -q >/dev/null 2>&1
  apt-get install -y -q postgresql-server-dev-15 dpkg-dev make gcc >/dev/null || return 1
  local work
  work="$(mktemp -d)"
  mkdir -p "$work/lists/partial"
  # The machine's own Debian mirror (the one its bookworm packages come from), asked for a newer release's sources.
  local mirror
  mirror="$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null)"
  [ -n "$mirror" ] || mirror="$(awk '$1 == "deb" && $0 ~ /bookworm/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null)"
  [ -n "$mirror" ] || return 1
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" >"$work/sources.list"
  local apt_options=(-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$work/lists")
  (
    cd "$work" &&
      apt-get "${apt_options[@]}" update -q >/dev/null 2>&1 &&
      apt-get "${apt_options[@]}" source -q pgvector >/dev/null 2>&1 &&
      cd pgvector-*/ &&
      # OPTFLAGS="" keeps -march=native out, so the build runs on any x86-64 machine.
      make PG_CONFIG="$PGVECTOR_PG_BIN/pg_config" OPTFLAGS="" >/dev/null &&
      make PG_CONFIG="$PGVECTOR_PG_BIN/pg_config" install >/dev/null
  )
  local status=$?
  rm -rf "$work"
  return $status
}

pgvector_start() {
  PGVECTOR_DIR="$(mktemp -d /tmp/papercord-pg.XXXXXX)"
  chown postgres:postgres "$PGVECTOR_DIR"
  # From /: the postgres user cannot enter the CI checkout's private temp directory.
  local as_postgres=(env -C / runuser -u postgres --)
  "${as_postgres[@]}" "$PGVECTOR_PG_BIN/initdb" -D "$PGVECTOR_DIR/data" -U postgres --auth=trust >/dev/null || return 1
  "${as_postgres[@]}" "$PGVECTOR_PG_BIN/pg_ctl" -D "$PGVECTOR_DIR/data" -l "$PGVECTOR_DIR/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $PGVECTOR_PORT -k $PGVECTOR_DIR -c fsync=off" start >/dev/null || return 1
  "${as_postgres[@]}" "$PGVECTOR_PG_BIN/psql" -h 127.0.0.1 -p "$PGVECTOR_PORT" -U postgres -q \
    -c "CREATE DATABASE papercord_test" -c "\\c papercord_test" -c "CREATE EXTENSION vector" >/dev/null || return 1
}

pgvector_stop() {
  [ -n "${PGVECTOR_DIR:-}" ] || return 0
  runuser -u postgres -- "$PGVECTOR_PG_BIN/pg_ctl" -D "$PGVECTOR_DIR/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$PGVECTOR_DIR"
}

if [ "$(id -u)" != 0 ]; then
  pgvector_log "not root, cannot install or start PostgreSQL"
elif pgvector_install && pgvector_start; then
  export PGVECTOR_TEST_URL="postgres://postgres@127.0.0.1:$PGVECTOR_PORT/papercord_test"
  pgvector_log "PostgreSQL 15 with pgvector on 127.0.0.1:$PGVECTOR_PORT"
else
  pgvector_log "could not install or start PostgreSQL with pgvector"
  [ -n "${PGVECTOR_DIR:-}" ] && tail -5 "$PGVECTOR_DIR/server.log" 2>/dev/null
  pgvector_stop
fi
