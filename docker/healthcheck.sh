#!/bin/bash
# Container health check without curl: GET http://127.0.0.1:<port><path> over bash's /dev/tcp
# and succeed on HTTP 200. The port comes from AGENTWATCH_HTTP_LISTEN (host:port).
#   healthcheck.sh [PATH]      PATH defaults to /readyz
set -u
path="${1:-/readyz}"
port="${AGENTWATCH_HTTP_LISTEN##*:}"
exec 3<>"/dev/tcp/127.0.0.1/${port}" || exit 1
printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$path" >&3
IFS= read -r -t 5 status <&3 || exit 1
[[ "$status" == "HTTP/1."?" 200"* ]]
