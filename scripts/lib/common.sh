# Shared by scripts/run and scripts/test: install what is missing, find the Postgres binaries,
# start and stop throwaway servers. Source it; do not run it.

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Debian packages Intake needs to build (headers) and to run (servers; python3-venv for the
# DuckDB CLI, which comes from PyPI: Debian packages neither DuckDB nor its C library; jq for
# the README's examples; pgbackrest for WAL archiving, backups and point-in-time restores;
# pg_auto_failover for the hot standby of scripts/ha-cluster, for Debian 12's Postgres 15).
INTAKE_APT_PACKAGES=(postgresql redis-server libpq-dev libhiredis-dev pkg-config python3 python3-venv jq pgbackrest
  pg-auto-failover-cli postgresql-15-auto-failover)
# What scripts/test needs besides: curl for the schemathesis stage (schemathesis itself comes
# from PyPI into a virtual environment under .build), chromium for the browser stage (the
# dashboard and the load report in headless Chromium; its tests fail without it).
INTAKE_TEST_APT_PACKAGES=(curl chromium)

# The DuckDB CLI (PyPI duckdb-cli: one binary with Parquet built in) that Intake drives as a
# subprocess for the lake and the warehouse, in a virtual environment of the project's own.
INTAKE_DUCKDB_VERSION="1.5.6"
INTAKE_DUCKDB_VENV=.build/duckdb-venv

# Installs duckdb-cli into $INTAKE_DUCKDB_VENV when missing or of another version, and exports
# INTAKE_DUCKDB (where Intake looks first) naming the binary the package ships: not the
# venv's bin/duckdb, a Python wrapper that would cost an interpreter start per call and put
# a second process between Intake and DuckDB.
ensure_duckdb() {
  local bin="$INTAKE_DUCKDB_VENV/bin/duckdb"
  if [ ! -x "$bin" ] || ! "$bin" -version 2>/dev/null | grep -q "v$INTAKE_DUCKDB_VERSION"; then
    log "installing duckdb-cli $INTAKE_DUCKDB_VERSION into $INTAKE_DUCKDB_VENV"
    mkdir -p "$(dirname "$INTAKE_DUCKDB_VENV")"
    [ -x "$INTAKE_DUCKDB_VENV/bin/pip" ] || python3 -m venv "$INTAKE_DUCKDB_VENV" || die "python3 -m venv failed"
    "$INTAKE_DUCKDB_VENV/bin/pip" install -q --disable-pip-version-check "duckdb-cli==$INTAKE_DUCKDB_VERSION" \
      || die "pip install duckdb-cli failed"
  fi
  local real
  real=$("$INTAKE_DUCKDB_VENV/bin/python" -c 'import duckdb_cli, os; print(os.path.join(os.path.dirname(os.path.abspath(duckdb_cli.__file__)), "duckdb"))' 2>/dev/null || true)
  [ -x "$real" ] || real="$(cd "$(dirname "$bin")" && pwd)/duckdb"
  "$real" -version >/dev/null 2>&1 || die "$real does not run"
  INTAKE_DUCKDB="$real"
  export INTAKE_DUCKDB
}

ensure_packages() {
  local missing=()
  for p in "${INTAKE_APT_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get to install them"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    log "installing ${missing[*]}"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    # Installing postgresql/redis-server may try to start system services; in containers that
    # fails harmlessly, and Intake never uses them.
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  fi
  command -v swift >/dev/null || die "swift is not on PATH (Swift 6.1 or newer is required)"
  ensure_duckdb
}

pg_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$dir" ] || dir=$(pg_config --bindir 2>/dev/null)
  [ -x "$dir/initdb" ] || die "initdb not found: install the Debian package postgresql"
  echo "$dir"
}

# A TCP port on 127.0.0.1 nobody listens on, starting the search at $1.
free_port() {
  local port=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  echo "$port"
}

# Runs a command as the postgres user when we are root (initdb and postgres refuse root).
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# start_throwaway_services DIR [durable]: a Postgres and a Redis in DIR, on loopback.
# Sets TEST_PG_PORT, TEST_REDIS_PORT. For tests fsync is off (the cluster is thrown away);
# "durable" keeps fsync on, as benchmarks must.
start_throwaway_services() {
  local dir=$1 mode=${2:-fast} bindir
  bindir=$(pg_bindir)
  chmod 755 "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  TEST_PG_PORT=$(free_port 55432)
  TEST_REDIS_PORT=$(free_port 56379)
  as_postgres "$bindir/initdb" -D "$dir/pg" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  # Tests run in parallel, each with a pool of its own: 378 tests peaked at 299 client
  # connections (sampled from pg_stat_activity, session 9) and hit the old limit of 300.
  cat >>"$dir/pg/postgresql.conf" <<CONF
port = $TEST_PG_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 500
shared_buffers = 512MB
max_wal_size = 8GB
wal_buffers = 64MB
track_commit_timestamp = on
CONF
  # Benchmarks profile Postgres too: total time per statement (pg_stat_statements).
  [ "$mode" = durable ] && printf "shared_preload_libraries = 'pg_stat_statements'\n" >>"$dir/pg/postgresql.conf"
  if [ "$mode" != durable ]; then
    printf 'fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n' >>"$dir/pg/postgresql.conf"
  fi
  as_postgres "$bindir/pg_ctl" -D "$dir/pg" -l "$dir/pg.log" -w -t 30 start >/dev/null \
    || { cat "$dir/pg.log" >&2; die "postgres did not start"; }
  redis-server --port "$TEST_REDIS_PORT" --bind 127.0.0.1 --daemonize yes --pidfile "$dir/redis.pid" \
    --dir "$dir" --logfile "$dir/redis.log" --save '' --appendonly no >/dev/null \
    || die "redis-server did not start"
  local i
  for i in $(seq 1 50); do
    redis-cli -p "$TEST_REDIS_PORT" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  redis-cli -p "$TEST_REDIS_PORT" ping >/dev/null 2>&1 || die "redis-server is not answering"
}

stop_throwaway_services() {
  local dir=$1 bindir
  bindir=$(pg_bindir)
  [ -n "${TEST_REDIS_PORT:-}" ] && redis-cli -p "$TEST_REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  [ -f "$dir/pg/postmaster.pid" ] && as_postgres "$bindir/pg_ctl" -D "$dir/pg" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
