#!/usr/bin/env bash
# The shipped Prometheus and Alertmanager configuration against the real services: a Debian
# Prometheus scrapes the four services with deploy/prometheus/prometheus.yml's job (only the
# targets rewritten to the given ports) and loads deploy/prometheus/rules; every target must be
# up and every rule healthy. A Debian Alertmanager runs deploy/alertmanager/alertmanager.yml
# (only the incident URL rewritten); an alert posted to it must open an incident in the tenant
# agentwatch-ops through incident's webhook.
#
#   check_alerting_wiring.sh WORK_DIR MONITOR_HTTP INCIDENT_HTTP CAPACITY_HTTP COST_HTTP INCIDENT_GRPC
# (addresses host:port). Exit 0 only if all of that holds. Stops what it started.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
work="$1"
declare -A http=([monitor]="$2" [incident]="$3" [capacity]="$4" [cost]="$5")
incident_grpc="$6"
mkdir -p "$work/prometheus" "$work/alertmanager"

prom_port="$(pick_free_port 29090)"
am_port="$(pick_free_port 29093)"
pids=()
# shellcheck disable=SC2317  # invoked by the trap
stop() {
  local pid
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
trap stop EXIT

# The shipped configurations with only the addresses changed.
/usr/bin/python3 - "$AW_ROOT" "$work" "$prom_port" "$am_port" "${http[monitor]}" \
  "${http[incident]}" "${http[capacity]}" "${http[cost]}" <<'EOF'
import sys, yaml
root, work, prom_port, am_port = sys.argv[1:5]
addr = dict(zip(("monitor", "incident", "capacity", "cost"), sys.argv[5:9]))
prom = yaml.safe_load(open(f"{root}/deploy/prometheus/prometheus.yml"))
prom["global"]["scrape_interval"] = "1s"
prom["global"]["evaluation_interval"] = "1s"
prom["rule_files"] = [f"{root}/deploy/prometheus/rules/*.yml"]
prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] = [f"127.0.0.1:{am_port}"]
for job in prom["scrape_configs"]:
    if job["job_name"] == "agentwatch":
        for group in job["static_configs"]:
            group["targets"] = [addr[group["labels"]["service"]]]
    else:
        job["static_configs"][0]["targets"] = [f"127.0.0.1:{prom_port}"]
yaml.safe_dump(prom, open(f"{work}/prometheus.yml", "w"))
am = yaml.safe_load(open(f"{root}/deploy/alertmanager/alertmanager.yml"))
hook = am["receivers"][0]["webhook_configs"][0]
hook["url"] = hook["url"].replace("incident:9102", addr["incident"])
am["route"]["group_wait"] = "1s"
yaml.safe_dump(am, open(f"{work}/alertmanager.yml", "w"))
EOF

prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prometheus" \
  --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
pids+=($!)
prometheus-alertmanager --config.file="$work/alertmanager.yml" \
  --storage.path="$work/alertmanager" --web.listen-address="127.0.0.1:$am_port" \
  --cluster.listen-address= >"$work/alertmanager.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$prom_port/-/ready" 30 || { tail_log "$work/prometheus.log"; exit 1; }
wait_http "http://127.0.0.1:$am_port/-/ready" 30 || { tail_log "$work/alertmanager.log"; exit 1; }

# Every agentwatch target up, every rule loaded and evaluated without error.
ok=0
for _ in $(seq 1 40); do
  targets="$(curl -fsS "http://127.0.0.1:$prom_port/api/v1/targets?state=active")"
  rules="$(curl -fsS "http://127.0.0.1:$prom_port/api/v1/rules")"
  if summary="$(/usr/bin/python3 - "$targets" "$rules" <<'EOF'
import json, sys
targets = json.loads(sys.argv[1])["data"]["activeTargets"]
rules = [r for g in json.loads(sys.argv[2])["data"]["groups"] for r in g["rules"]]
aw = [t for t in targets if t["labels"].get("job") == "agentwatch"]
up = [t for t in aw if t["health"] == "up"]
bad = [f"{r['name']}: {r.get('lastError')}" for r in rules if r.get("health") not in ("ok",)]
done = len(aw) == 4 and len(up) == 4 and rules and not bad
print(f"targets up {len(up)}/{len(aw)}, rules {len(rules)} ({len(bad)} not ok)"
      + ("" if not bad else ": " + "; ".join(bad)))
sys.exit(0 if done else 1)
EOF
  )"; then
    echo "$summary"
    ok=1
    break
  fi
  sleep 0.5
done
((ok)) || { echo "error: Prometheus: $summary"; exit 1; }

# An alert through the shipped Alertmanager route to incident's webhook.
name="AgentwatchWiringCheck$RANDOM"
curl -fsS -XPOST -H 'Content-Type: application/json' "http://127.0.0.1:$am_port/api/v2/alerts" \
  -d "[{\"labels\": {\"alertname\": \"$name\", \"service\": \"monitor\", \"severity\": \"warning\", \"tenant\": \"agentwatch-ops\"}, \"annotations\": {\"summary\": \"check-deploy wiring check\"}}]" \
  >/dev/null
for _ in $(seq 1 60); do
  if "$(aw_bin_dir)/agentwatch" incidents list --tenant agentwatch-ops --output json \
    --incident_addr="$incident_grpc" 2>/dev/null | grep -q "$name"; then
    echo "ok: Prometheus scrapes the 4 services, all rules healthy; Alertmanager -> incident webhook opened an incident for $name in tenant agentwatch-ops"
    exit 0
  fi
  sleep 0.5
done
echo "error: no incident for $name in tenant agentwatch-ops after 30s"
tail_log "$work/alertmanager.log" 10
exit 1
