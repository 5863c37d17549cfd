# shellcheck shell=bash
# A throwaway agentwatch stack for the deployment checks: its own Postgres and Redis (data in a
# directory the caller gives, on free loopback ports) and the four services from $BIN_DIR on
# free ports. Source it after scripts/lib.sh. The ports sit below the kernel's ephemeral range
# (32768-60999 here), so an outgoing connection's local port cannot take one between the
# free-port probe and the service's bind.
#
#   tw_up DIR          start everything; sets TW_PG_PORT, TW_DSN, TW_ADMIN_DSN, TW_REDIS,
#                      TW_GRPC[svc], TW_HTTP[svc]; returns non-zero (logs on stderr) on failure
#   tw_up_datastores DIR   only Postgres (database agentwatch) and Redis
#   tw_stop_services   SIGTERM the services (exit codes in TW_EXIT[svc])
#   tw_down            stop everything tw_up started (safe to call twice)

# shellcheck disable=SC2034  # TW_* are read by the scripts that source this file
declare -gA TW_GRPC TW_HTTP TW_PID TW_EXIT
TW_DIR=""

tw_up_datastores() {
  TW_DIR="$1"
  local port
  mkdir -p "$TW_DIR"
  chmod 755 "$TW_DIR"
  TW_PG_PORT="$(pick_free_port 27432)" || return 1
  start_pg "$TW_DIR/pg" "$TW_PG_PORT" >/dev/null || return 1
  pg_ensure_db "$TW_PG_PORT" agentwatch || return 1
  # shellcheck disable=SC2034
  TW_ADMIN_DSN="host=127.0.0.1 port=$TW_PG_PORT user=postgres dbname=postgres"
  TW_DSN="host=127.0.0.1 port=$TW_PG_PORT user=postgres dbname=agentwatch"
  port="$(pick_free_port 27379)" || return 1
  start_redis "$TW_DIR/redis" "$port" || return 1
  TW_REDIS="127.0.0.1:$port"
}

tw_up() {
  local bin_dir port svc peers peer
  bin_dir="$(aw_bin_dir)"
  tw_up_datastores "$1" || return 1
  port=27051
  for svc in "${AW_SERVICES[@]}"; do
    TW_GRPC[$svc]="$(pick_free_port "$port")" || return 1
    TW_HTTP[$svc]="$(pick_free_port $((TW_GRPC[$svc] + 1)))" || return 1
    port=$((TW_HTTP[$svc] + 1))
  done
  mkdir -p "$TW_DIR/log"
  for svc in "${AW_SERVICES[@]}"; do
    peers=()
    for peer in ${AW_PEERS[$svc]}; do
      # Only the peer flags this build knows (a binary older than scripts/lib.sh lacks some).
      if "$bin_dir/agentwatch-$svc" --help 2>&1 | grep -q -- "--${peer}_addr"; then
        peers+=("--${peer}_addr=127.0.0.1:${TW_GRPC[$peer]}")
      fi
    done
    "$bin_dir/agentwatch-$svc" \
      "--grpc_listen=127.0.0.1:${TW_GRPC[$svc]}" "--http_listen=127.0.0.1:${TW_HTTP[$svc]}" \
      "--pg_dsn=$TW_DSN" "--redis=$TW_REDIS" --health_probe_interval=200ms \
      ${peers[@]+"${peers[@]}"} </dev/null >"$TW_DIR/log/$svc.log" 2>&1 &
    TW_PID[$svc]=$!
  done
  for svc in "${AW_SERVICES[@]}"; do
    if ! wait_http "http://127.0.0.1:${TW_HTTP[$svc]}/readyz" 60 "${TW_PID[$svc]}"; then
      tail_log "$TW_DIR/log/$svc.log"
      log "agentwatch-$svc did not become ready"
      return 1
    fi
  done
}

tw_stop_services() {
  local svc pid i
  for svc in "${!TW_PID[@]}"; do
    pid="${TW_PID[$svc]}"
    kill -TERM "$pid" 2>/dev/null || true
  done
  for svc in "${!TW_PID[@]}"; do
    pid="${TW_PID[$svc]}"
    for ((i = 0; i < 200; i++)); do
      pid_running "$pid" || break
      sleep 0.1
    done
    if pid_running "$pid"; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
    # shellcheck disable=SC2034
    TW_EXIT[$svc]=0
    wait "$pid" 2>/dev/null || TW_EXIT[$svc]=$?
    unset "TW_PID[$svc]"
  done
}

tw_down() {
  [[ -n "$TW_DIR" ]] || return 0
  tw_stop_services
  stop_redis "$TW_DIR/redis" >/dev/null 2>&1 || true
  stop_pg "$TW_DIR/pg" >/dev/null 2>&1 || true
}
