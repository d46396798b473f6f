#!/usr/bin/env bash
# Starts the freshly built server for Playwright: a new data dir, the demo data, dev sign-in on.
set -euo pipefail
cd "$(dirname "$0")"
port="$1"
bin="${GATEHOUSE_BIN:?GATEHOUSE_BIN must name the built gatehouse binary}"
data=".data/$port"
rm -rf "$data"
mkdir -p "$data"
export GATEHOUSE_DATA_DIR="$data"
export GATEHOUSE_BIND="127.0.0.1:$port"
export GATEHOUSE_DEV_LOGIN=true
export GATEHOUSE_LOG="${GATEHOUSE_LOG:-warn}"
export GATEHOUSE_SITE_ROOT="${GATEHOUSE_SITE_ROOT:-../target/site}"
"$bin" seed-demo
# The credential nginx presents when it asks about keys (end2end/nginx/run.sh reads it).
"$bin" gateway-credential e2e-nginx > "$data/gateway.credential"
# Standard error also goes to a file, which scripts/e2e searches for panics after the run.
exec "$bin" serve 2> >(tee "$data/server.stderr" >&2)
