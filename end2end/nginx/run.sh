#!/usr/bin/env bash
# Runs Debian's nginx on loopback with deploy/nginx-gatehouse.conf, in front of a tiny upstream
# (Python's http.server over end2end/nginx/upstream), asking the end-to-end Gatehouse about every
# call. The gateway credential comes from the Gatehouse data dir (serve-for-tests.sh made it).
set -euo pipefail
cd "$(dirname "$0")"
listen="$1" gatehouse="$2" upstream_port="$3" data="$4"
work="$(pwd)/.run-$listen"
rm -rf "$work" && mkdir -p "$work/logs"
for _ in $(seq 1 100); do [ -s "$data/gateway.credential" ] && break; sleep 0.1; done
credential="$(cat "$data/gateway.credential")"
sed -e "s|LISTEN|127.0.0.1:$listen|; s|GATEHOUSE|$gatehouse|; s|UPSTREAM|127.0.0.1:$upstream_port|" \
    -e "s|GATEWAY_CREDENTIAL|$credential|; s|API_SLUG|pet-store|; s|ENVIRONMENT|production|" \
    ../../deploy/nginx-gatehouse.conf > "$work/site.conf"
cat > "$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/logs/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $work/body;
    proxy_temp_path $work/proxy;
    fastcgi_temp_path $work/fastcgi;
    uwsgi_temp_path $work/uwsgi;
    scgi_temp_path $work/scgi;
    include $work/site.conf;
}
CONF
/usr/bin/python3 -m http.server "$upstream_port" --bind 127.0.0.1 --directory upstream >/dev/null 2>&1 &
upstream=$!
trap 'kill $upstream 2>/dev/null || true' EXIT
nginx="$(command -v nginx || echo /usr/sbin/nginx)"
"$nginx" -t -q -e "$work/logs/error.log" -c "$work/nginx.conf" -p "$work"
"$nginx" -g 'daemon off;' -e "$work/logs/error.log" -c "$work/nginx.conf" -p "$work"
