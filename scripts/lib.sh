# shellcheck shell=bash
# Shared helpers for the developer scripts. Source it; do not run it.
#
#   start_pg DATA_DIR PORT [-c name=value ...]   init (once) and start a Postgres
#   stop_pg DATA_DIR                              pg_ctl stop -m fast; quiet if not running
#   pg_ensure_db PORT NAME                        create a database if it is missing
#   start_redis DIR PORT                          start a daemonized, non-persistent Redis
#   stop_redis DIR                                stop it by its pid file; quiet if not running
#   wait_http URL TIMEOUT_S [PID]                 wait for HTTP 200 (gives up early if PID dies)
#   port_in_use PORT / pick_free_port BASE        loopback port probes
#   log / warn / die                              messages on stderr
#   AW_SERVICES, AW_GRPC_PORT, AW_HTTP_PORT, ...  the local stack's names and ports

AW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
AW_PROG="$(basename "$0")"

# The local stack (scripts/up, scripts/down).
# shellcheck disable=SC2034  # used by the scripts that source this file
AW_SERVICES=(monitor incident capacity cost)
# shellcheck disable=SC2034
declare -gA AW_GRPC_PORT=([monitor]=50051 [incident]=50052 [capacity]=50053 [cost]=50054)
# shellcheck disable=SC2034
declare -gA AW_HTTP_PORT=([monitor]=9101 [incident]=9102 [capacity]=9103 [cost]=9104)
# The peers each service calls (each gets a --<peer>_addr flag).
declare -gA AW_PEERS=([monitor]="incident cost" [incident]="capacity" [capacity]="monitor incident" [cost]="incident monitor")
AW_PG_PORT=55432
# shellcheck disable=SC2034
AW_REDIS_PORT=56379
# shellcheck disable=SC2034
AW_PG_DSN="host=127.0.0.1 port=$AW_PG_PORT user=postgres dbname=agentwatch"

# Where the local stack keeps its state (override: AGENTWATCH_LOCAL_DIR).
aw_local_dir() {
  echo "${AGENTWATCH_LOCAL_DIR:-$AW_ROOT/.local}"
}

# Absolute path of the build's bin/ directory (BUILD_DIR is relative to the repo root).
aw_bin_dir() {
  local build_dir="${BUILD_DIR:-build}"
  [[ "$build_dir" == /* ]] || build_dir="$AW_ROOT/$build_dir"
  echo "$build_dir/bin"
}

log() { printf '%s: %s\n' "$AW_PROG" "$*" >&2; }
warn() { printf '%s: warning: %s\n' "$AW_PROG" "$*" >&2; }
die() {
  printf '%s: error: %s\n' "$AW_PROG" "$*" >&2
  exit 1
}

# Prints the last lines of a log file, indented, on stderr.
tail_log() {
  local file="$1" lines="${2:-30}"
  if [[ -s "$file" ]]; then
    printf '%s: last %s lines of %s:\n' "$AW_PROG" "$lines" "$file" >&2
    tail -n "$lines" "$file" | sed 's/^/    /' >&2
  else
    printf '%s: (log %s is empty or missing)\n' "$AW_PROG" "$file" >&2
  fi
}

# True when something accepts TCP connections on 127.0.0.1:PORT.
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Prints the first port >= BASE (up to BASE+99) that nothing listens on.
pick_free_port() {
  local port
  for ((port = $1; port < $1 + 100; port++)); do
    if ! port_in_use "$port"; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

# True when process PID runs (a zombie, whose parent has not reaped it yet, does not count).
pid_running() {
  local stat
  kill -0 "$1" 2>/dev/null || return 1
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
  [[ "${stat##*) }" != Z* ]]
}

# True when the pid in PIDFILE is alive (and, if NAME is given, its command line mentions NAME).
pidfile_alive() {
  local pidfile="$1" name="${2:-}" pid
  [[ -s "$pidfile" ]] || return 1
  pid="$(head -n 1 "$pidfile" | tr -dc '0-9')"
  if [[ -z "$pid" ]] || ! pid_running "$pid"; then
    return 1
  fi
  if [[ -n "$name" ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$name" || return 1
  fi
  return 0
}

# Sends SIGTERM to the pid in PIDFILE, waits up to TIMEOUT_S, then SIGKILL; removes the file.
# Returns 0 if it stopped a process, 1 if there was nothing to stop.
stop_pidfile() {
  local pidfile="$1" name="${2:-}" timeout="${3:-15}" pid i
  if ! pidfile_alive "$pidfile" "$name"; then
    rm -f "$pidfile"
    return 1
  fi
  pid="$(head -n 1 "$pidfile" | tr -dc '0-9')"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < timeout * 10; i++)); do
    pid_running "$pid" || break
    sleep 0.1
  done
  if pid_running "$pid"; then
    warn "pid $pid ($name) ignored SIGTERM for ${timeout}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  fi
  rm -f "$pidfile"
  return 0
}

# Waits until URL answers HTTP 2xx. Returns 0 when it does, 1 on timeout, 2 if PID (optional)
# exits first.
wait_http() {
  local url="$1" timeout="$2" pid="${3:-}" deadline
  deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then
      return 0
    fi
    if [[ -n "$pid" ]] && ! pid_running "$pid"; then
      return 2
    fi
    sleep 0.2
  done
  return 1
}

# ---------------------------------------------------------------------------------------------
# Postgres

# Directory of the newest installed PostgreSQL server binaries (override: AGENTWATCH_PG_BINDIR).
pg_bindir() {
  if [[ -n "${AGENTWATCH_PG_BINDIR:-}" ]]; then
    echo "$AGENTWATCH_PG_BINDIR"
    return 0
  fi
  local dir
  dir="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null |
    sort -V | tail -n 1)"
  [[ -n "$dir" && -x "$dir/pg_ctl" ]] || die "no PostgreSQL server found under /usr/lib/postgresql (run scripts/setup)"
  echo "$dir"
}

# Runs a command as the user that owns Postgres data: the `postgres` system user when we are
# root (initdb refuses root), ourselves otherwise. Runs from / (the caller's working directory
# may be closed to that user), so pass absolute paths.
as_pg_user() {
  if ((EUID == 0)); then
    (cd / && exec runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# True when the Postgres server user can enter DIR (every parent must be searchable).
pg_can_reach() {
  ((EUID != 0)) || runuser -u postgres -- test -x "$1" 2>/dev/null
}

# Explains, on stderr, which component of DIR the `postgres` user cannot enter.
explain_pg_unreachable() {
  local dir="$1" path="" part blocker="$1"
  local -a parts
  IFS='/' read -r -a parts <<<"${dir#/}"
  for part in "${parts[@]}"; do
    path="$path/$part"
    if ! runuser -u postgres -- test -x "$path" 2>/dev/null; then
      blocker="$path"
      break
    fi
  done
  cat >&2 <<EOF
$AW_PROG: error: Postgres cannot use $dir
  Postgres refuses to run as root, so it runs as the 'postgres' system user, and that user
  cannot enter $blocker ($(stat -c '%A %U' "$blocker" 2>/dev/null || echo 'unknown mode')).
  Either keep the local state somewhere it can reach, e.g.
      AGENTWATCH_LOCAL_DIR=/var/tmp/agentwatch scripts/up     (and the same for scripts/down)
  or clone the project outside $blocker (for example under /srv or /opt).
EOF
}

# start_pg DATA_DIR PORT [-c name=value ...]
# Initializes DATA_DIR on first use (trust auth, superuser `postgres`), then starts Postgres on
# 127.0.0.1:PORT with its socket inside DATA_DIR and its log in DATA_DIR/postgres.log.
# Leaves an already running server in DATA_DIR alone.
start_pg() {
  local data="$1" port="$2"
  shift 2
  local bindir sockdir opts arg
  bindir="$(pg_bindir)"
  mkdir -p "$data"
  data="$(cd "$data" && pwd)"
  if ((EUID == 0)); then
    chown postgres:postgres "$data"
  fi
  chmod 700 "$data"
  if ! pg_can_reach "$data"; then
    explain_pg_unreachable "$data"
    return 1
  fi
  if [[ ! -s "$data/PG_VERSION" ]]; then
    if ! as_pg_user "$bindir/initdb" -D "$data" --auth=trust -U postgres --encoding=UTF8 \
      --no-locale --no-sync >"$data/../initdb.log" 2>&1; then
      tail_log "$data/../initdb.log"
      die "initdb failed for $data"
    fi
    rm -f "$data/../initdb.log"
  fi
  if as_pg_user "$bindir/pg_ctl" status -D "$data" >/dev/null 2>&1; then
    return 0
  fi
  # A Unix socket path is limited to 107 bytes; fall back to TCP only when the dir is too deep.
  sockdir="$data"
  if ((${#data} > 90)); then
    sockdir=""
  fi
  opts="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$sockdir'"
  for arg in "$@"; do
    opts+=" $arg"
  done
  if ! as_pg_user "$bindir/pg_ctl" start -w -t 60 -D "$data" -l "$data/postgres.log" \
    -o "$opts" >/dev/null 2>&1; then
    tail_log "$data/postgres.log"
    log "Postgres failed to start in $data on 127.0.0.1:$port"
    return 1
  fi
}

# stop_pg DATA_DIR: fast shutdown of the server running in DATA_DIR, if any.
# Returns 0 if it stopped a server, 1 if none was running.
stop_pg() {
  local data="$1" bindir
  [[ -f "$data/postmaster.pid" ]] || return 1
  data="$(cd "$data" && pwd)"
  bindir="$(pg_bindir)"
  if ! as_pg_user "$bindir/pg_ctl" status -D "$data" >/dev/null 2>&1; then
    rm -f "$data/postmaster.pid"
    return 1
  fi
  as_pg_user "$bindir/pg_ctl" stop -D "$data" -m fast -w -t 60 >/dev/null
}

# pg_ensure_db PORT NAME: creates database NAME on 127.0.0.1:PORT unless it exists.
pg_ensure_db() {
  local port="$1" name="$2" bindir exists
  bindir="$(pg_bindir)"
  exists="$("$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -XtAq \
    -v name="$name" <<<"SELECT 1 FROM pg_database WHERE datname = :'name'")"
  if [[ "$exists" != "1" ]]; then
    "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres "$name"
  fi
}

# ---------------------------------------------------------------------------------------------
# Redis

# start_redis DIR PORT: a daemonized Redis on 127.0.0.1:PORT without persistence, pid file and
# log in DIR. Leaves an already running one alone. Waits until it answers PING and checks that
# the server answering is ours.
start_redis() {
  local dir="$1" port="$2" i pid answer_pid
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  if pidfile_alive "$dir/redis.pid" redis-server; then
    return 0
  fi
  rm -f "$dir/redis.pid"
  : >"$dir/redis.log"
  if ! redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --dir "$dir" \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >/dev/null; then
    tail_log "$dir/redis.log"
    log "redis-server failed to start on 127.0.0.1:$port"
    return 1
  fi
  # The daemon writes its pid file only once it listens; a failed bind ends with "aborting".
  for ((i = 0; i < 100; i++)); do
    if [[ -s "$dir/redis.pid" ]]; then
      pid="$(tr -dc '0-9' <"$dir/redis.pid")"
      answer_pid="$(redis-cli -h 127.0.0.1 -p "$port" info server 2>/dev/null |
        tr -d '\r' | sed -n 's/^process_id://p')"
      if [[ -n "$pid" && "$answer_pid" == "$pid" ]]; then
        return 0
      fi
      if [[ -n "$pid" ]] && ! pid_running "$pid"; then
        break
      fi
    elif ((i >= 50)) || grep -q 'aborting' "$dir/redis.log"; then
      break
    fi
    sleep 0.1
  done
  tail_log "$dir/redis.log"
  stop_pidfile "$dir/redis.pid" redis-server 5 || true
  log "Redis did not come up on 127.0.0.1:$port"
  return 1
}

# stop_redis DIR: stops the Redis whose pid file is in DIR. Returns 1 if none was running.
stop_redis() {
  stop_pidfile "$1/redis.pid" redis-server 10
}

# Installs the npm dependencies of DIR exactly as its package-lock.json pins them (npm ci),
# unless node_modules already holds that lock's install.
aw_npm_ci() {
  local dir="$1" stamp want
  stamp="$dir/node_modules/.agentwatch-lock.sha256"
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return 0
  fi
  log "npm ci in ${dir#"$AW_ROOT"/}"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
    die "npm ci failed in $dir"
  echo "$want" >"$stamp"
}
