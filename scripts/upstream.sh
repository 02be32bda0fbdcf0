#!/usr/bin/env bash
# The upstream resolver for resolver-mode tests, on loopback only:
#   BIND (named, authoritative for tests/upstream/upstream.test.zone and bing.com.zone) on 127.0.0.1:$UPSTREAM_DNS_PORT
#   dnsdist in front of it serving DoH over plain HTTP/1.1 on 127.0.0.1:$UPSTREAM_DOH_PORT/dns-query
#   (workerd's fetch speaks HTTP/1.1 and will not trust a self-signed certificate, and BIND's own
#   DoH listener is HTTP/2-only), with its statistics on http://127.0.0.1:$UPSTREAM_WEB_PORT
#   (/jsonstat?command=stats, header X-API-Key: $UPSTREAM_API_KEY): the tests count the queries
#   that reach it.
#
# and a "hanging" upstream on 127.0.0.1:$UPSTREAM_HANG_PORT that accepts connections and never
# answers (it counts them in $UPSTREAM_DIR/hang.count): the Worker's hedging must go past it.
#
#   scripts/upstream.sh start | stop | stop-doh | start-doh | status
#
# Settings: UPSTREAM_DNS_PORT=18953 UPSTREAM_DOH_PORT=18954 UPSTREAM_WEB_PORT=18955
#           UPSTREAM_API_KEY=edgedns-test  UPSTREAM_DIR=.run/upstream
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$EDGEDNS_ROOT"

dns_port="${UPSTREAM_DNS_PORT:-18953}"
doh_port="${UPSTREAM_DOH_PORT:-18954}"
web_port="${UPSTREAM_WEB_PORT:-18955}"
hang_port="${UPSTREAM_HANG_PORT:-18957}"
api_key="${UPSTREAM_API_KEY:-edgedns-test}"
dir="$(realpath -m "${UPSTREAM_DIR:-$RUN_DIR/upstream}")"
zone="$EDGEDNS_ROOT/tests/upstream/upstream.test.zone"

named_bin="$(command -v named || echo /usr/sbin/named)"
dnsdist_bin="$(command -v dnsdist || echo /usr/bin/dnsdist)"

running() { [[ -s "$dir/$1.pid" ]] && kill -0 "$(cat "$dir/$1.pid")" 2>/dev/null; }

stop_one() {
  if running "$1"; then
    kill "$(cat "$dir/$1.pid")" 2>/dev/null || true
    for _ in $(seq 50); do running "$1" || break; sleep 0.1; done
    running "$1" && kill -9 "$(cat "$dir/$1.pid")" 2>/dev/null || true
  fi
  rm -f "$dir/$1.pid"
}

wait_port() { # proto port what
  for _ in $(seq 100); do
    if [[ "$1" == tcp ]]; then (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
    else dig +time=1 +tries=1 -p "$2" @127.0.0.1 upstream.test SOA >/dev/null 2>&1 && return 0; fi
    sleep 0.1
  done
  die "$3 did not come up on port $2 (logs in $dir)"
}

start_named() {
  [[ -x "$named_bin" ]] || die "named (bind9) missing: run 'make setup'"
  mkdir -p "$dir"
  cat >"$dir/named.conf" <<CONF
options {
  directory "$dir";
  pid-file "$dir/named.pid.real";
  listen-on port $dns_port { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  allow-query { any; };
  dnssec-validation no;
  notify no;
};
// No rndc channel: it would want port 953, which a system named may hold.
controls { };
zone "upstream.test" { type primary; file "$zone"; };
// A search engine's zone, for the profiles' safe-search test (tests/e2e/resolver.rs).
zone "bing.com" { type primary; file "$EDGEDNS_ROOT/tests/upstream/bing.com.zone"; };
CONF
  "$named_bin" -g -c "$dir/named.conf" >"$dir/named.log" 2>&1 &
  echo $! >"$dir/named.pid"
  wait_port udp "$dns_port" named
}

start_doh() {
  [[ -x "$dnsdist_bin" ]] || die "dnsdist missing: run 'make setup'"
  mkdir -p "$dir"
  cat >"$dir/dnsdist.conf" <<CONF
setSecurityPollSuffix("")
setLocal("127.0.0.1:$((doh_port + 10))")
addDOHLocal("127.0.0.1:$doh_port", nil, nil, "/dns-query")
newServer({address="127.0.0.1:$dns_port", name="bind", checkName="upstream.test."})
webserver("127.0.0.1:$web_port")
setWebserverConfig({apiKey="$api_key", acl="127.0.0.0/8"})
CONF
  "$dnsdist_bin" --supervised --disable-syslog -C "$dir/dnsdist.conf" >"$dir/dnsdist.log" 2>&1 &
  echo $! >"$dir/dnsdist.pid"
  wait_port tcp "$doh_port" dnsdist
}

start_hang() {
  mkdir -p "$dir"
  echo 0 >"$dir/hang.count"
  python3 -c '
import socket, sys
port, count_file = int(sys.argv[1]), sys.argv[2]
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen(128)
held = []
while True:
    connection, _ = server.accept()
    held.append(connection)  # never read, never answered, never closed
    with open(count_file, "w") as f:
        f.write(str(len(held)))
' "$hang_port" "$dir/hang.count" >"$dir/hang.log" 2>&1 &
  echo $! >"$dir/hang.pid"
  wait_port tcp "$hang_port" "the hanging upstream"
  echo 0 >"$dir/hang.count"
}

case "${1:-}" in
  start)
    stop_one dnsdist; stop_one named; stop_one hang
    start_named; start_doh; start_hang
    log "upstream: BIND 127.0.0.1:$dns_port, dnsdist DoH http://127.0.0.1:$doh_port/dns-query, stats :$web_port"
    ;;
  stop) stop_one dnsdist; stop_one named; stop_one hang ;;
  stop-doh) stop_one dnsdist ;;
  start-doh) running dnsdist || start_doh ;;
  status)
    for p in named dnsdist hang; do running "$p" && echo "$p running (pid $(cat "$dir/$p.pid"))" || echo "$p stopped"; done ;;
  *) echo "usage: $0 start|stop|stop-doh|start-doh|status" >&2; exit 2 ;;
esac
