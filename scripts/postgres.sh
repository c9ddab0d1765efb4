#!/usr/bin/env bash
# A throw-away PostgreSQL for the end-to-end Singer test (test/e2e/postgres.test.ts).
#
#   eval "$(scripts/postgres.sh start)"   # installs what is missing, starts a private cluster, prints exports
#   scripts/postgres.sh stop               # stops the cluster named by $HOTJAR_PG_DATADIR and deletes it
#
# start:
#   - installs the Debian packages the cluster and the Singer target (../shared/singer-targets) need, only
#     when `dpkg -s` says one is missing (then `apt-get update` once and `apt-get install -y`);
#   - runs initdb (newest /usr/lib/postgresql/*/bin) in a fresh temp dir, as the `postgres` user when run as
#     root (initdb refuses root); the temp dir is the data directory and holds the unix socket and the log;
#   - listens on 127.0.0.1 only, at $PGPORT or 54329, or the next free port above it;
#   - creates a login role and a database it owns (password auth over TCP, trust on the private socket);
#   - waits until the server accepts connections and prints `export` lines on stdout (everything else goes
#     to stderr): PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE HOTJAR_PG_DATADIR.
# stop [DIR]: `pg_ctl stop -m fast` on DIR (default $HOTJAR_PG_DATADIR), then removes DIR. Only removes a
#   directory this script created (it holds a marker file).
#
# Env for start: PGPORT (first port to try, default 54329), HOTJAR_PG_USER (hotjar), HOTJAR_PG_DB (hotjar),
#   HOTJAR_PG_PASSWORD (random), TMPDIR (where the temp dir goes, default /tmp).
set -euo pipefail

bin='' dir='' ok=0
PACKAGES=(postgresql python3-psycopg2 python3-inflection python3-joblib python3-jsonschema python3-dateutil
  python3-simplejson python3-backoff python3-tz python3-ciso8601)
MARKER=.hotjar-throwaway-cluster

log() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

as_owner() { # run a command as the cluster's owner
  if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_bin() { # newest PostgreSQL major version's bin dir
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [[ -n "$d" && -x "$d/initdb" ]] || die "no initdb under /usr/lib/postgresql/*/bin (is the postgresql package installed?)"
  printf '%s\n' "$d"
}

install_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  [[ $EUID -eq 0 ]] || die "missing Debian packages (${missing[*]}) and not root: install them with apt-get"
  log "installing ${missing[*]}"
  # Other sessions on this machine may hold the dpkg lock: wait for it rather than fail.
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >&2
}

port_in_use() { # true when something accepts TCP connections on 127.0.0.1:$1
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
  install_packages
  local port user db password tries=0
  bin=$(pg_bin)
  user=${HOTJAR_PG_USER:-hotjar}
  db=${HOTJAR_PG_DB:-hotjar}
  password=${HOTJAR_PG_PASSWORD:-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')}
  [[ "$user" =~ ^[a-z_][a-z0-9_]*$ && "$db" =~ ^[a-z_][a-z0-9_]*$ ]] || die "HOTJAR_PG_USER/HOTJAR_PG_DB must be plain lower-case identifiers"
  [[ "$password" != *"'"* ]] || die "HOTJAR_PG_PASSWORD must not contain a single quote"
  port=${PGPORT:-54329}

  dir=$(mktemp -d "${TMPDIR:-/tmp}/hotjar-pg.XXXXXX")
  chmod 700 "$dir"
  [[ $EUID -eq 0 ]] && chown postgres:postgres "$dir"
  ok=0
  trap '[[ $ok -eq 1 ]] || { as_owner "$bin/pg_ctl" -D "$dir" stop -m immediate >/dev/null 2>&1 || true; rm -rf "$dir"; }' EXIT

  local pwfile="$dir/.pw"
  as_owner sh -c "umask 077; printf '%s\n' \"\$1\" > \"\$2\"" sh "$password" "$pwfile"
  # initdb refuses a non-empty directory: create the cluster in a child, then use the temp dir for the rest.
  as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  as_owner touch "$dir/$MARKER"

  while :; do
    while port_in_use "$port"; do port=$((port + 1)); done
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start -o \
      "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$dir' -c fsync=off \
       -c synchronous_commit=off -c full_page_writes=off -c max_connections=40 -c shared_buffers=32MB" >&2; then
      break
    fi
    tries=$((tries + 1))
    # Another cluster may have taken the port between the check and the start: try the next one.
    if [[ $tries -ge 5 ]] || ! grep -q 'could not bind\|already in use' "$dir/postgres.log" 2>/dev/null; then
      tail -n 20 "$dir/postgres.log" >&2 || true
      die "pg_ctl start failed"
    fi
    port=$((port + 1))
  done

  as_owner "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres >&2 <<SQL
CREATE ROLE $user LOGIN PASSWORD '$password';
CREATE DATABASE $db OWNER $user;
SQL
  rm -f "$pwfile"
  # pg_ctl -w already waited; check the way clients will connect (TCP, password).
  local i
  for i in $(seq 1 50); do
    PGPASSWORD=$password "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$user" -d "$db" && break
    [[ $i -eq 50 ]] && die "server does not accept connections on 127.0.0.1:$port"
    sleep 0.2
  done
  PGPASSWORD=$password "$bin/psql" -X -qAt -h 127.0.0.1 -p "$port" -U "$user" -d "$db" -c 'select 1' >/dev/null \
    || die "cannot log in as $user on 127.0.0.1:$port"
  ok=1
  log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, data in $dir (stop: scripts/postgres.sh stop)"
  printf 'export PGHOST=127.0.0.1\nexport PGPORT=%q\nexport PGUSER=%q\nexport PGPASSWORD=%q\nexport PGDATABASE=%q\nexport HOTJAR_PG_DATADIR=%q\n' \
    "$port" "$user" "$password" "$db" "$dir"
}

stop() {
  local dir=${1:-${HOTJAR_PG_DATADIR:-}}
  [[ -n "$dir" ]] || die "stop: HOTJAR_PG_DATADIR is not set (nor given as an argument)"
  [[ -d "$dir" ]] || { log "stop: $dir does not exist (already stopped?)"; return 0; }
  [[ -f "$dir/$MARKER" && -f "$dir/data/PG_VERSION" ]] || die "stop: $dir is not a cluster made by scripts/postgres.sh; not touching it"
  bin=$(pg_bin)
  if [[ -f "$dir/data/postmaster.pid" ]]; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -w -t 60 stop -m fast >&2 || log "stop: pg_ctl stop failed (not running?)"
  fi
  rm -rf "$dir"
  log "stopped and removed $dir"
}

case "${1:-}" in
  start) start ;;
  stop) shift; stop "$@" ;;
  *) echo "usage: $0 start | stop [DIR]" >&2; exit 2 ;;
esac
