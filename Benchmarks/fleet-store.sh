#!/usr/bin/env bash
# The PostgreSQL fleet store, measured: a throwaway PostgreSQL cluster (initdb in a temporary
# directory, TLS, SCRAM; as nobody when run as root), an nginx HTTPS backend (1 KiB), and
# `trustgate gateway run` processes (release build) sharing one store.
#
#   1. Propagation: GATEWAYS (3) gateways; CHANGES (200) alternating `allowlist remove` / `add`;
#      after each, every gateway's /healthz is polled (no sleep) until it reports the new version.
#      Prints p50/p99/max of the time until the last gateway has it, measured from the command's
#      exit (the change acknowledged to the user) and from its start.
#   2. Size: ENTRIES (100000) SPKI-pin entries (plus the test root) imported into an SQLite store,
#      `store copy` to PostgreSQL, timed; a gateway started on that allow-list (start-up timed);
#      then wrk keep-alive requests (CONNECTIONS, DURATION) through it while one change makes it
#      reload the whole allow-list: the reload time, and wrk's requests/s and latency beside a run
#      with no reload.
#
# Knobs: TRUSTGATE, GATEWAYS, CHANGES, ENTRIES, DURATION, CONNECTIONS, PHASES ("propagation size").
# Linux only. Not a test: figures go in notes.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
gateways="${GATEWAYS:-3}"
changes="${CHANGES:-200}"
entries="${ENTRIES:-100000}"
duration="${DURATION:-10s}"
connections="${CONNECTIONS:-16}"
phases="${PHASES:-propagation size}"

pgbin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[[ -x "$pgbin/initdb" ]] || pgbin="$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")"
missing=()
[[ -x "$pgbin/initdb" ]] || missing+=(postgresql)
for tool in curl python3 wrk setpriv; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if ((${#missing[@]})); then
  echo "missing: ${missing[*]} (apt-get install -y postgresql wrk util-linux openssl curl python3)" >&2
  exit 1
fi
tg="${TRUSTGATE:-$repo/.build/release/trustgate}"
[[ -x "$tg" ]] || { echo "no trustgate at $tg: swift build -c release --product trustgate" >&2; exit 1; }
tg="$(cd "$(dirname "$tg")" && pwd)/$(basename "$tg")"

work="$(mktemp -d)"
chmod 755 "$work"
pids=()
cleanup() {
  local pid
  for pid in ${pids[@]+"${pids[@]}"}; do kill -INT "$pid" 2>/dev/null || true; done
  for pid in ${pids[@]+"${pids[@]}"}; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() {  # FILE REGEX: the first capture, within 30 s
  local line
  for _ in $(seq 300); do
    line="$(grep -oE "$2" "$1" 2>/dev/null | head -1 || true)"
    [[ -n "$line" ]] && { sed -E "s/$2/\\1/" <<<"$line"; return 0; }
    sleep 0.1
  done
  echo "timed out waiting for '$2' in $1:" >&2; cat "$1" >&2; return 1
}

# --- PostgreSQL -----------------------------------------------------------------------------------
"$tg" cert testpki pki >/dev/null
"$tg" cert create "Fleet Bench PostgreSQL Root" --profile root-ca --out pgroot >/dev/null
"$tg" cert create localhost --san DNS:localhost --profile leaf --ca-cert pgroot.pem --ca-key pgroot.key --out pgserver >/dev/null
mkdir -p pg/data pg/socket
head -c 24 /dev/urandom | base64 | tr -d '/+=' > pg/password
chmod 600 pg/password pgserver.key
as_pg=(setpriv --pdeathsig=TERM --)
if [[ "$(id -u)" == 0 ]]; then
  chown -R nobody:nogroup pg pgserver.key pgserver.pem
  as_pg=(setpriv --reuid=nobody --regid=nogroup --clear-groups --pdeathsig=TERM --)
fi
"${as_pg[@]}" "$pgbin/initdb" -D pg/data -U trustgate --pwfile=pg/password --auth-host=scram-sha-256 \
  --auth-local=trust -E UTF8 --locale=C --no-instructions >pg/initdb.log 2>&1
printf 'local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n' > pg/data/pg_hba.conf
pgport="$(free_port)"
"${as_pg[@]}" "$pgbin/postgres" -D pg/data -p "$pgport" -c listen_addresses=127.0.0.1 \
  -c unix_socket_directories="$work/pg/socket" -c ssl=on -c ssl_cert_file="$work/pgserver.pem" \
  -c ssl_key_file="$work/pgserver.key" -c max_connections=200 >pg/server.log 2>&1 &
pids+=($!)
wait_for pg/server.log '(ready) to accept connections' >/dev/null
"$pgbin/psql" -h "$work/pg/socket" -p "$pgport" -U trustgate -d postgres -q -c 'CREATE DATABASE fleet' 
export TRUSTGATE_STORE="postgres://trustgate@localhost:$pgport/fleet?sslmode=verify-full&sslrootcert=$work/pgroot.pem&password-file=$work/pg/password"
echo "PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pgport (TLS verify-full, SCRAM, fsync on)"

# --- backend and gateways -------------------------------------------------------------------------
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
[[ -x "$nginx_bin" ]] || { echo "missing: nginx (apt-get install -y nginx-light)" >&2; exit 1; }
backend_port="$(free_port)"
mkdir -p backend www && head -c 1024 /dev/urandom | base64 -w0 | head -c 1024 > www/1k
user_line=""; [[ "$(id -u)" == 0 ]] && user_line="user root;"
cat >backend/nginx.conf <<EOF
worker_processes 1;
daemon off;
pid "$work/backend/nginx.pid";
error_log "$work/backend/error.log" warn;
$user_line
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 100000;
  client_body_temp_path "$work/backend/body";
  proxy_temp_path "$work/backend/proxy";
  fastcgi_temp_path "$work/backend/fastcgi";
  uwsgi_temp_path "$work/backend/uwsgi";
  scgi_temp_path "$work/backend/scgi";
  server {
    listen 127.0.0.1:$backend_port ssl;
    server_name backend.test;
    ssl_certificate "$work/pki/backend-valid.pem";
    ssl_certificate_key "$work/pki/backend-valid.key";
    root "$work/www";
    location = / { try_files /1k =404; }
  }
}
EOF
"$nginx_bin" -p "$work/backend/" -c "$work/backend/nginx.conf" >backend/stdout 2>&1 &
pids+=($!)
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$backend_port") 2>/dev/null && break; sleep 0.1; done
gateway() {  # NAME GATEWAY: starts it (not in a subshell: its PID is kept); sets gw_port and gw_admin
  cat >"$1.yaml" <<EOF
gateway: $2
store-snapshot: $1.snapshot.json
threads: 1
admin: {port: 0}
listeners:
  - {name: main, address: 127.0.0.1, port: 0, certificate: {pfx: pki/gateway-listener.pfx, password-file: pki/gateway-listener.pass}}
pools:
  - {name: app, members: ["127.0.0.1:$backend_port"]}
backend-settings:
  - {name: e2e, host-name: backend.test}
rules:
  - {name: r, listener: main, pool: app, settings: e2e}
EOF
  "$tg" gateway run --config "$1.yaml" --log-level notice >"$1.log" 2>&1 &
  pids+=($!)
  gw_port="$(wait_for "$1.log" 'listening main on 127\.0\.0\.1:([0-9]+)')"
  gw_admin="$(wait_for "$1.log" 'admin listening on 127\.0\.0\.1:([0-9]+)')"
}
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%6.2f", b - a }'; }

if [[ " $phases " == *" propagation "* ]]; then
  "$tg" allowlist add --gateway g pki/root-ca.pem --name root >/dev/null
  admins=()
  for i in $(seq "$gateways"); do gateway "gw$i" g; admins+=("$gw_admin"); done
  echo
  echo "== propagation: $changes changes, $gateways gateways, time until the last gateway has the new version"
  TG="$tg" python3 - "$changes" "${admins[@]}" <<'PY'
import http.client, os, subprocess, sys, time
changes, admins = int(sys.argv[1]), [int(p) for p in sys.argv[2:]]
connections = [http.client.HTTPConnection("127.0.0.1", p, timeout=5) for p in admins]
def version(c):
    c.request("GET", "/healthz"); body = c.getresponse().read().decode()
    for line in body.splitlines():
        if line.startswith("store: reachable, version "): return int(line.rsplit(" ", 1)[1])
    return -1
after_exit, after_start = [], []
target = max(version(c) for c in connections)
for i in range(changes):
    command = ["remove", "--gateway", "g", "pin"] if i % 2 else ["add", "--gateway", "g", "pki/backend-valid.pem", "--name", "pin"]
    started = time.monotonic()
    subprocess.run([os.environ["TG"], "allowlist", *command], check=True, stdout=subprocess.DEVNULL)
    exited = time.monotonic()
    target += 1
    pending = list(connections)
    while pending:
        pending = [c for c in pending if version(c) < target]
        if time.monotonic() - exited > 10: sys.exit(f"change {i}: not everywhere after 10 s")
    done = time.monotonic()
    after_exit.append(max(0.0, done - exited)); after_start.append(done - started)
def pct(values, p):
    s = sorted(values); return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]
for label, values in (("from the command's exit", after_exit), ("from the command's start", after_start)):
    print(f"  {label:26s} p50 {pct(values, 50) * 1000:7.1f} ms   p99 {pct(values, 99) * 1000:7.1f} ms   max {max(values) * 1000:7.1f} ms")
PY
fi

if [[ " $phases " == *" size "* ]]; then
  echo
  echo "== size: $entries SPKI-pin entries (one of them the backend's key) plus the test root, gateway 'big'"
  backend_pin="$("$tg" cert pin pki/backend-valid.pem --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["hex"])')"
  python3 - "$entries" "$backend_pin" > big.json <<'PY'
import json, os, sys
n, backend = int(sys.argv[1]), sys.argv[2]
entries = [{"name": f"pin-{i:06d}", "kind": "spki-pin", "spkiSha256": os.urandom(32).hex()} for i in range(n - 1)]
entries.append({"name": "backend-key", "kind": "spki-pin", "spkiSha256": backend})
print(json.dumps({"format": "trustgate-allowlist/1", "gateway": "big", "exportedAt": "2026-12-02T00:00:00Z", "entries": entries}))
PY
  "$tg" allowlist add --gateway big pki/root-ca.pem --name root --store big.sqlite >/dev/null
  t0=$(date +%s.%N); "$tg" allowlist import big.json --gateway big --store big.sqlite >/dev/null; t1=$(date +%s.%N)
  printf '  allowlist import into SQLite        %s s\n' "$(seconds "$t0" "$t1")"
  t0=$(date +%s.%N); "$tg" store copy --from big.sqlite --to "$TRUSTGATE_STORE" >copy.log; t1=$(date +%s.%N)
  printf '  store copy SQLite -> PostgreSQL      %s s   (%s)\n' "$(seconds "$t0" "$t1")" "$(grep -o 'big: [0-9]* entries' copy.log)"
  t0=$(date +%s.%N); gateway big big; t1=$(date +%s.%N)
  port="$gw_port" admin="$gw_admin"
  printf '  gateway start on that allow-list    %s s   (process start to listening)\n' "$(seconds "$t0" "$t1")"
  url="https://gateway.test:$port/"
  first="$(curl -s -o /dev/null -w '%{http_code}' --cacert pki/root-ca.pem --resolve "gateway.test:$port:127.0.0.1" "$url")"
  [[ "$first" == 200 ]] || { echo "the gateway answers $first, not 200:" >&2; tail -5 big.log >&2; exit 1; }
  load() { wrk -t 1 -c "$connections" -d "$duration" --latency "https://127.0.0.1:$port/" 2>&1; }
  quiet="$(load)"
  version_of() { curl -s "http://127.0.0.1:$admin/healthz" | sed -n 's/^store: reachable, version //p'; }
  before="$(version_of)"
  load >reloading.txt &
  wrk_pid=$!
  sleep 3
  t0=$(date +%s.%N)
  "$tg" allowlist remove --gateway big pin-000000 >/dev/null
  until [[ "$(version_of)" -gt "$before" ]]; do sleep 0.01; done
  t1=$(date +%s.%N)
  wait "$wrk_pid"
  printf '  reload after one change              %s s   (command exit to /healthz at the new version)\n' "$(seconds "$t0" "$t1")"
  summary() { awk '/Requests\/sec/ {r=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF} END {printf "%s req/s, p50 %s, p99 %s, non-2xx %s", r, p50, p99, (bad==""?0:bad)}'; }
  echo "  wrk keep-alive, no reload:           $(summary <<<"$quiet")"
  echo "  wrk keep-alive, reload during it:    $(summary <reloading.txt)"
fi
