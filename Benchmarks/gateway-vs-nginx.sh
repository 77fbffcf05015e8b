#!/usr/bin/env bash
# Throughput, latency and CPU cost of end-to-end TLS (client TLS terminated, re-encrypted to a
# backend whose certificate is verified) through `trustgate gateway run` (release build) against
# nginx and HAProxy set up as the same kind of gateway, and against the backend directly, in one run
# on one machine. One nginx backend (HTTPS, static /1k and /64k, 1 worker) serves all the targets;
# they are loaded one at a time with wrk (keep-alive 1 KiB, keep-alive 64 KiB, a new client
# connection per request, which resumes TLS sessions) and with parallel `openssl s_time -new`
# clients (a full TLS handshake per request). Client, gateway and backend share the machine's
# cores, so req/s alone flatters whichever gateway takes more CPU: the gateways' CPU time (utime +
# stime from /proc: the nginx master and its workers, HAProxy's and trustgate's every thread) also
# gives requests per gateway CPU-second. Prints a table and the trustgate/nginx and trustgate/haproxy
# ratios; RESULTS=file.tsv writes them as TSV too. HAProxy (/usr/sbin/haproxy, `mode http`, TLS 1.2
# and 1.3 with session tickets, `verify required` + `verifyhost` to the backend, `http-reuse always`,
# at most 32 idle upstream connections per thread like nginx's `keepalive 32`) is left out, with a
# note, when it is not installed.
# The idle-tls scenario (about 40 s; first in the default list, where it is skipped with a note if
# the open-file hard limit is not above IDLE_TLS) opens IDLE_TLS TLS client connections to each
# gateway (a small Python client: a full handshake verifying the gateway's certificate, one
# keep-alive GET /1k, then idle) and reports (RSS with them all open and idle - RSS before) / IDLE_TLS: the gateway's memory per
# idle keep-alive TLS client connection (RSS: VmRSS, summed over the nginx master and workers).
# So that no gateway closes them first, every gateway keeps idle client connections 600 s (nginx
# keepalive_timeout 600s, keepalive_requests 100000; HAProxy timeout client and http-keep-alive
# 10m; trustgate client-timeouts keep-alive 600s), and with idle-tls selected admits IDLE_TLS +
# 1024 connections (nginx worker_connections, per worker; HAProxy maxconn, global and defaults,
# with `no strict-limits` when the open-file limit is below the two descriptors per connection it
# reserves; trustgate max-connections). The script raises its open-file limit (ulimit -n) to the
# hard limit for everything it starts, and sets nginx's worker_rlimit_nofile to the same.
# Knobs: TRUSTGATE, DURATION, CONNECTIONS, STIME_CLIENTS, STIME_SECONDS, WARMUP,
# NGINX_WORKERS (the nginx gateway's workers), HAPROXY_THREADS (HAProxy's nbthread; default
# NGINX_WORKERS), TRUSTGATE_THREADS (its event loops; default one per core), IDLE_TLS (idle-tls
# connections per gateway, 10000), IDLE_SETTLE (seconds between the last one open and the RSS
# reading, 2), SCENARIOS (a subset, in order, of idle-tls keepalive-1k keepalive-64k
# new-conn-1k handshake-1k), PROFILE=perf.data (records trustgate with `perf record -g`
# during PROFILE_SCENARIO, any scenario but idle-tls, default keepalive-1k; that row's CPU
# figures then include perf's own overhead), SYSCALLS=1 (strace -c each gateway during
# PROFILE_SCENARIO, wrk scenarios: system calls per request).
# Linux only. Not a test: figures go in notes.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
start_dir="$PWD"

duration="${DURATION:-10s}"
connections="${CONNECTIONS:-32}"
stime_clients="${STIME_CLIENTS:-4}"
if [[ -n "${STIME_SECONDS:-}" ]]; then stime_seconds="$STIME_SECONDS"
elif [[ "$duration" =~ ^([0-9]+)s?$ ]]; then stime_seconds="${BASH_REMATCH[1]}"   # follow DURATION
else stime_seconds=10; fi
warmup="${WARMUP:-1s}"
nginx_workers="${NGINX_WORKERS:-1}"
haproxy_threads="${HAPROXY_THREADS:-$nginx_workers}"
tg_threads="${TRUSTGATE_THREADS:-}"   # empty: trustgate's default, one event loop per core
idle_tls="${IDLE_TLS:-10000}"
idle_settle="${IDLE_SETTLE:-2}"
all_scenarios="keepalive-1k keepalive-64k new-conn-1k handshake-1k idle-tls"
# idle-tls first: after the load scenarios a gateway's heap has grown, and idle connections would
# fill memory it already holds (trustgate's figure halves)
read -r -a scenarios <<<"${SCENARIOS:-idle-tls keepalive-1k keepalive-64k new-conn-1k handshake-1k}"
idle_selected=no
for scenario in "${scenarios[@]}"; do
  [[ " $all_scenarios " == *" $scenario "* ]] || { echo "unknown scenario $scenario ($all_scenarios)" >&2; exit 1; }
  [[ "$scenario" == idle-tls ]] && idle_selected=yes
done
[[ "$idle_selected" == yes && "${scenarios[0]}" != idle-tls ]] &&
  echo "note: idle-tls after other scenarios: memory they left the gateways may hide some of its cost" >&2
# no_idle REASON: without idle-tls if it is only there by default, else stop
no_idle() {
  [[ -z "${SCENARIOS:-}" ]] || { echo "error: idle-tls: $1" >&2; exit 1; }
  echo "note: skipping idle-tls: $1" >&2
  scenarios=("${scenarios[@]:1}")
  idle_selected=no
}
[[ "$idle_tls" =~ ^[1-9][0-9]*$ ]] || { echo "IDLE_TLS must be a positive number" >&2; exit 1; }

# --- tools --------------------------------------------------------------------------------------
nginx_bin="$(command -v nginx || true)"
[[ -z "$nginx_bin" && -x /usr/sbin/nginx ]] && nginx_bin=/usr/sbin/nginx   # not on a user's PATH
missing=()
[[ -n "$nginx_bin" ]] || missing+=(nginx)
for tool in wrk openssl curl python3 ps; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
[[ "$idle_selected" == yes ]] && { command -v ss >/dev/null 2>&1 || no_idle "no ss (apt-get install -y iproute2)"; }
if ((${#missing[@]})); then
  echo "missing: ${missing[*]}" >&2
  echo "install them, e.g.: apt-get install -y nginx-light wrk   (or nginx instead of nginx-light)" >&2
  exit 1
fi
haproxy_bin="$(command -v haproxy || true)"
[[ -z "$haproxy_bin" && -x /usr/sbin/haproxy ]] && haproxy_bin=/usr/sbin/haproxy
if [[ -z "$haproxy_bin" ]]; then
  echo "note: no haproxy: measuring without it (install it: apt-get install -y haproxy)" >&2
fi
tg="${TRUSTGATE:-$repo/.build/release/trustgate}"
if [[ ! -f "$tg" ]]; then
  echo "no trustgate at $tg" >&2
  echo "build it first: swift build -c release --product trustgate" >&2
  exit 1
fi
tg="$(cd "$(dirname "$tg")" && pwd)/$(basename "$tg")"   # absolute: we run from the temp dir

# --- temp dir; everything started is killed by PID on exit ---------------------------------------
work="$(mktemp -d)"
pids=()
alive() { local s; s="$(ps -o stat= -p "$1" 2>/dev/null)" && [[ "$s" != Z* ]]; }
forget() { local keep=() p; for p in "${pids[@]}"; do [[ "$p" == "$1" ]] || keep+=("$p"); done; pids=(${keep[@]+"${keep[@]}"}); }
cleanup() {
  local pid
  for pid in ${pids[@]+"${pids[@]}"}; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in ${pids[@]+"${pids[@]}"}; do
    for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "error: $*" >&2; exit 1; }
# run_bg COMMAND...: run it in the background and wait, so that a signal to the script acts at once (a
# foreground wrk would delay it, and a wrk that exits cleanly on Ctrl-C would make bash ignore it)
run_bg() { local p rc=0; "$@" & p=$!; pids+=("$p"); wait "$p" || rc=$?; forget "$p"; return "$rc"; }
cd "$work"

read -r backend_port nginx_port haproxy_port tg_port < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(4)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in ss))')

# open files: as many as the hard limit allows, for every process started from here
nofile="$(ulimit -Hn)"
[[ "$nofile" == unlimited ]] && nofile="$(cat /proc/sys/fs/nr_open 2>/dev/null || echo 1048576)"
ulimit -n "$nofile" 2>/dev/null || nofile="$(ulimit -Sn)"
if [[ "$idle_selected" == yes ]] && ((nofile < idle_tls + 256)); then
  no_idle "needs an open-file limit above IDLE_TLS=$idle_tls + 256; the hard limit is $nofile (raise it, or lower IDLE_TLS)"
fi
# connections each gateway admits: nginx worker_connections (per worker), HAProxy maxconn, trustgate
# max-connections (its default, 10000, unless idle-tls needs more)
worker_connections=$((connections * 4 > 1024 ? connections * 4 : 1024))
tg_max_connections=""
if [[ "$idle_selected" == yes ]]; then
  worker_connections=$((idle_tls + 1024 > worker_connections ? idle_tls + 1024 : worker_connections))
  tg_max_connections=$((idle_tls + 1024))
fi

# --- versions -----------------------------------------------------------------------------------
cores="$(nproc)"
echo "# gateway-vs-nginx: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "# trustgate: $("$tg" --version 2>&1 | head -1)"
echo "# $("$nginx_bin" -v 2>&1 | head -1)"
[[ -n "$haproxy_bin" ]] && echo "# $("$haproxy_bin" -v 2>&1 | head -1)"
echo "# $(openssl version)"
echo "# $( (wrk --version 2>&1 || true) | head -1)"
echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //' || echo unknown); nproc: $cores"
echo "# client, gateway and backend share these $cores cores. backend nginx: 1 worker; nginx gateway:"
if [[ -n "$tg_threads" ]]; then tg_threads_note="$tg_threads event-loop thread(s) (TRUSTGATE_THREADS)"
else tg_threads_note="its default event-loop threads, one per core: $cores (TRUSTGATE_THREADS to set)"; fi
echo "#   $nginx_workers worker(s) (NGINX_WORKERS);${haproxy_bin:+ haproxy: $haproxy_threads thread(s) (HAPROXY_THREADS);}"
echo "#   trustgate: $tg_threads_note"
echo "# wrk: 1 thread, $connections connections, $duration per run (${warmup} warm-up per target);" \
  "s_time: $stime_clients clients x ${stime_seconds}s"
[[ "$idle_selected" == yes ]] && echo "# idle-tls: $idle_tls connections per gateway; open-file limit $nofile"

# --- PKI and content ----------------------------------------------------------------------------
"$tg" cert testpki pki >/dev/null
if [[ ! -f pki/gateway-listener.pem || ! -f pki/gateway-listener.key ]]; then   # older trustgate
  openssl pkcs12 -in pki/gateway-listener.pfx -passin file:pki/gateway-listener.pass -nokeys -out pki/gateway-listener.pem
  openssl pkcs12 -in pki/gateway-listener.pfx -passin file:pki/gateway-listener.pass -nocerts -nodes -out pki/gateway-listener.key
fi
mkdir -p www
head -c 1024 /dev/urandom >www/1k
head -c 65536 /dev/urandom >www/64k

# --- nginx: backend and gateway -----------------------------------------------------------------
user_line=""
((EUID == 0)) && user_line="user root;"   # else workers run as nobody and cannot read the temp dir
nginx_has_e=no
"$nginx_bin" -h 2>&1 | grep -q -- ' -e ' && nginx_has_e=yes   # -e (1.19.5+): no default error log

# nginx_conf NAME WORKERS SERVER-BLOCK: a whole config, every path inside $work/NAME
nginx_conf() {
  local d="$work/$1"
  mkdir -p "$d"
  cat >"$d/nginx.conf" <<EOF
worker_processes $2;
worker_rlimit_nofile $nofile;
daemon off;
pid "$d/nginx.pid";
error_log "$d/error.log" warn;
$user_line
events { worker_connections $worker_connections; }
http {
  access_log off;
  default_type application/octet-stream;
  keepalive_requests 100000;
  keepalive_timeout 600s;
  client_body_temp_path "$d/client_body";
  proxy_temp_path "$d/proxy";
  fastcgi_temp_path "$d/fastcgi";
  uwsgi_temp_path "$d/uwsgi";
  scgi_temp_path "$d/scgi";
$3
}
EOF
}
# start_nginx NAME: in the background (daemon off: the master is the job); $! is the master PID
start_nginx() {
  local d="$work/$1" e=()
  [[ "$nginx_has_e" == yes ]] && e=(-e "$d/error.log")
  "$nginx_bin" -p "$d/" ${e[@]+"${e[@]}"} -c "$d/nginx.conf" >"$d/stdout" 2>&1 &
  pids+=($!)
}
# wait_port PORT PID LOG: until PORT accepts connections, or die with LOG
wait_port() {
  for _ in $(seq 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    alive "$2" || { cat "$3" >&2 || true; die "process $2 exited before listening on $1"; }
    sleep 0.1
  done
  cat "$3" >&2 || true
  die "nothing listening on port $1 after 30 s"
}

nginx_conf backend 1 "
  server {
    listen 127.0.0.1:$backend_port ssl;
    server_name backend.test;
    ssl_certificate \"$work/pki/backend-valid.pem\";
    ssl_certificate_key \"$work/pki/backend-valid.key\";
    ssl_protocols TLSv1.2 TLSv1.3;
    root \"$work/www\";
  }"
start_nginx backend
backend_pid=$!
wait_port "$backend_port" "$backend_pid" "$work/backend/error.log"

nginx_conf nginx-gateway "$nginx_workers" "
  upstream backend_upstream {
    server 127.0.0.1:$backend_port;
    keepalive 32;
  }
  server {
    listen 127.0.0.1:$nginx_port ssl;
    server_name gateway.test;
    ssl_certificate \"$work/pki/gateway-listener.pem\";
    ssl_certificate_key \"$work/pki/gateway-listener.key\";
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {
      proxy_pass https://backend_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate \"$work/pki/root-ca.pem\";
      proxy_ssl_name backend.test;
      proxy_ssl_server_name on;
      proxy_ssl_session_reuse on;
      proxy_ssl_verify_depth 3;
      proxy_max_temp_file_size 0;   # stream, never spill a response to disk
    }
  }"
start_nginx nginx-gateway
nginx_pid=$!
wait_port "$nginx_port" "$nginx_pid" "$work/nginx-gateway/error.log"

# --- haproxy: gateway --------------------------------------------------------------------------
haproxy_pid=""
if [[ -n "$haproxy_bin" ]]; then
  mkdir -p haproxy
  cat pki/gateway-listener.pem pki/gateway-listener.key >haproxy/gateway-listener.pem   # crt: both in one
  # HAProxy reserves two descriptors per connection (client and server side) and by default refuses
  # to start if it cannot have them; an idle client connection holds one
  strict_limits=""
  ((worker_connections * 2 + 128 > nofile)) && strict_limits="no strict-limits"
  cat >haproxy/haproxy.cfg <<EOF
global
  nbthread $haproxy_threads
  maxconn $worker_connections
  $strict_limits
defaults
  mode http
  maxconn $worker_connections
  option http-keep-alive
  timeout connect 10s
  timeout client 10m
  timeout http-keep-alive 10m
  timeout http-request 60s
  timeout server 60s
frontend gateway
  bind 127.0.0.1:$haproxy_port ssl crt "$work/haproxy/gateway-listener.pem" ssl-min-ver TLSv1.2
  default_backend app
backend app
  http-reuse always
  server backend 127.0.0.1:$backend_port ssl verify required ca-file "$work/pki/root-ca.pem" sni str(backend.test) verifyhost backend.test pool-max-conn $((32 * haproxy_threads))
EOF
  "$haproxy_bin" -c -q -f haproxy/haproxy.cfg >haproxy/check.out 2>&1 || { cat haproxy/check.out >&2; die "haproxy refuses its configuration"; }
  "$haproxy_bin" -db -f haproxy/haproxy.cfg >haproxy/stdout 2>&1 &   # -db: foreground; $! is HAProxy
  haproxy_pid=$!
  pids+=("$haproxy_pid")
  wait_port "$haproxy_port" "$haproxy_pid" haproxy/stdout
fi

# --- trustgate ----------------------------------------------------------------------------------
TRUSTGATE_STORE="$work/store.sqlite" "$tg" allowlist add --gateway bench pki/root-ca.pem --as trusted-root >/dev/null
cat >gateway.yaml <<EOF
gateway: bench
store: "$work/store.sqlite"
${tg_threads:+threads: $tg_threads}
client-timeouts: {keep-alive: 600s}
listeners:
  - name: main
    address: 127.0.0.1
    port: $tg_port
    certificate: {pfx: pki/gateway-listener.pfx, password-file: pki/gateway-listener.pass}
${tg_max_connections:+    max-connections: $tg_max_connections}
pools:
  - {name: app, members: ["127.0.0.1:$backend_port"]}
backend-settings:
  - {name: e2e, protocol: https, host-name: backend.test, trust: trusted-root, request-timeout: 30s}
rules:
  - {name: r, listener: main, pool: app, settings: e2e}
EOF
"$tg" gateway run --config gateway.yaml --log-level error >trustgate.out 2>trustgate.err &
tg_pid=$!
pids+=("$tg_pid")
for ((i = 0; ; i++)); do
  grep -q "^listening main on 127.0.0.1:$tg_port" trustgate.out 2>/dev/null && break
  alive "$tg_pid" || { cat trustgate.out trustgate.err >&2; die "trustgate exited before listening"; }
  ((i < 300)) || { cat trustgate.out trustgate.err >&2; die "trustgate not listening after 30 s"; }
  sleep 0.1
done

# --- targets: name, port, TLS name, gateway PID (CPU accounting) ---------------------------------
targets=(nginx ${haproxy_pid:+haproxy} trustgate direct)
declare -A port=([nginx]=$nginx_port [haproxy]=$haproxy_port [trustgate]=$tg_port [direct]=$backend_port)
declare -A host=([nginx]=gateway.test [haproxy]=gateway.test [trustgate]=gateway.test [direct]=backend.test)
declare -A gwpid=([nginx]=$nginx_pid [haproxy]=$haproxy_pid [trustgate]=$tg_pid [direct]="")
declare -A closes resumes tls

# ticks PID: utime+stime of PID (all its threads) and all its descendants, in clock ticks
ticks() {
  local stat f child children total
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || { echo 0; return; }
  read -r -a f <<<"${stat##*) }"   # f[0] is field 3 (state): utime is field 14, stime 15
  total=$((f[11] + f[12]))
  children="$(cat /proc/"$1"/task/*/children 2>/dev/null || ps -o pid= --ppid "$1" || true)"
  for child in $children; do total=$((total + $(ticks "$child"))); done
  echo "$total"
}
clk_tck="$(getconf CLK_TCK)"
# rss_kib PID: VmRSS of PID and all its descendants, in KiB
rss_kib() {
  local child children total
  total="$(awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || true)"
  total="${total:-0}"
  children="$(cat /proc/"$1"/task/*/children 2>/dev/null || ps -o pid= --ppid "$1" || true)"
  for child in $children; do total=$((total + $(rss_kib "$child"))); done
  echo "$total"
}

# --- check every target before loading it -------------------------------------------------------
for t in "${targets[@]}"; do
  p="${port[$t]}" h="${host[$t]}"
  for f in 1k 64k; do
    rm -f "check.$f"
    curl -s --cacert pki/root-ca.pem --resolve "$h:$p:127.0.0.1" -o "check.$f" "https://$h:$p/$f" || true
    if ! cmp -s "check.$f" "www/$f"; then
      curl -sv --cacert pki/root-ca.pem --resolve "$h:$p:127.0.0.1" -o /dev/null "https://$h:$p/$f" >&2 || true
      [[ "$t" == trustgate ]] && cat trustgate.out trustgate.err >&2
      die "$t: GET /$f did not return the file ($(wc -c <"check.$f" 2>/dev/null || echo 0) bytes, want $(wc -c <"www/$f"))"
    fi
  done
  # wrk makes a new connection per request only if the response says Connection: close
  curl -s --cacert pki/root-ca.pem --resolve "$h:$p:127.0.0.1" -H 'Connection: close' -D "close.$t" -o /dev/null \
    "https://$h:$p/1k" || true
  if tr -d '\r' <"close.$t" | grep -qi '^connection: *close'; then closes[$t]=yes; else closes[$t]=no; fi
  # what a default OpenSSL client negotiates, and whether a second connection resumes the first
  # one's session (the response is read first, so TLS 1.3 tickets have arrived)
  printf 'GET /1k HTTP/1.0\r\n\r\n' | openssl s_client -connect "127.0.0.1:$p" -servername "$h" -ign_eof \
    -sess_out "sess.$t" >"tls1.$t" 2>&1 || true
  printf 'GET /1k HTTP/1.0\r\n\r\n' | openssl s_client -connect "127.0.0.1:$p" -servername "$h" -ign_eof \
    -sess_in "sess.$t" >"tls2.$t" 2>&1 || true
  if grep -aq '^Reused' "tls2.$t"; then resumes[$t]=yes; else resumes[$t]=no; fi
  tls[$t]="$(grep -a -m1 '^New, ' "tls1.$t" | sed 's/^New, //; s/, Cipher is / /' || true)"
  tls[$t]+="$(grep -a -m1 '^Server Temp Key: ' "tls1.$t" | sed 's/^Server Temp Key: \([^,]*\).*/ \1/' || true)"
done
echo "# checked: GET /1k and /64k through each target return the files (curl, verifying against the test root)"
echo "# what a default OpenSSL client negotiates with each target:"
for t in "${targets[@]}"; do
  echo "#   $t: ${tls[$t]:-?}; answers Connection: close: ${closes[$t]}; resumes a TLS session: ${resumes[$t]}"
  [[ "${closes[$t]}" == yes ]] || echo "#   WARNING: $t keeps the connection open: its new-conn-1k figures are keep-alive ones"
done
echo "# keepalive-*: wrk, HTTP/1.1 keep-alive. new-conn-1k: wrk with 'Connection: close', a new TCP and TLS"
echo "#   connection per request that resumes the TLS session (TLS 1.3 resumption still does a key exchange)."
echo "#   wrk's latency runs from writing the request to the response: connection setup is not in it."
echo "# handshake-1k: openssl s_time -new: a full TLS handshake per request (no resumption), HTTP/1.0 GET /1k;"
echo "#   no SNI (this s_time has no -servername); req/s = all clients' connections / their wall time"
echo "# gw-CPU-s: gateway CPU seconds during the run; req/gw-CPU-s: requests completed per gateway CPU-second"
if [[ "$idle_selected" == yes ]]; then
  echo "# idle-tls: $idle_tls TLS client connections per gateway (Python; at most 100 being opened at once), each"
  echo "#   a full handshake verified against the test root and one keep-alive GET /1k, then idle. RSS (VmRSS;"
  echo "#   nginx: master + workers) before opening and ${idle_settle} s after the last is idle; KiB/conn ="
  echo "#   (after - before) / $idle_tls; open: ESTABLISHED sockets on the gateway's port when RSS is read"
fi
echo

# --- load ---------------------------------------------------------------------------------------
rows=()   # scenario target req/s p50-ms p99-ms gw-cpu-s req-per-gw-cpu-s errors

# record SCENARIO TARGET REQS RPS P50 P99 ERRORS T0 T1: append a row; CPU from the tick counts
record() {
  local cpu per
  if [[ -n "${gwpid[$2]}" ]]; then
    cpu="$(awk -v a="$8" -v b="$9" -v hz="$clk_tck" 'BEGIN { printf "%.2f", (b - a) / hz }')"
    per="$(awk -v n="$3" -v a="$8" -v b="$9" -v hz="$clk_tck" 'BEGIN { if (b > a) printf "%.0f", n / ((b - a) / hz); else print "n/a" }')"
  else cpu=n/a per=n/a; fi
  rows+=("$1	$2	$4	$5	$6	$cpu	$per	$7")
  printf '  %-14s %-10s %10s req/s  gateway CPU %6s s  %8s req/CPU-s  errors %s\n' "$1" "$2" "$4" "$cpu" "$per" "$7" >&2
}

# profile_start SCENARIO TARGET / profile_stop: `perf record` of trustgate during PROFILE_SCENARIO
perf_pid=""
profile_start() {
  perf_pid=""
  if [[ -n "${PROFILE:-}" && $2 == trustgate && $1 == "${PROFILE_SCENARIO:-keepalive-1k}" ]]; then
    perf record -g -F 999 -p "${gwpid[$2]}" -o "$([[ $PROFILE = /* ]] && echo "$PROFILE" || echo "$start_dir/$PROFILE")" >/dev/null 2>&1 &
    perf_pid=$!
  fi
}
profile_stop() {
  if [[ -n "$perf_pid" ]]; then kill -INT "$perf_pid" 2>/dev/null || true; wait "$perf_pid" || true; fi
  perf_pid=""
}

# run_wrk SCENARIO TARGET PATH [wrk args]
run_wrk() {
  local scenario=$1 t=$2 path=$3 out="wrk.$1.$2" t0 t1 parsed
  shift 3
  t0="$(ticks "${gwpid[$t]:-0}")"
  profile_start "$scenario" "$t"
  local strace_pid=""
  if [[ -n "${SYSCALLS:-}" && -n "${gwpid[$t]}" && $scenario == "${PROFILE_SCENARIO:-keepalive-1k}" ]]; then
    local traced=() p
    for p in "${gwpid[$t]}" $(cat /proc/"${gwpid[$t]}"/task/*/children 2>/dev/null); do traced+=(-p "$p"); done
    strace -f -c -o "syscalls.$t" "${traced[@]}" 2>/dev/null &
    strace_pid=$!
    sleep 0.5
  fi
  run_bg wrk -t1 -c"$connections" -d"$duration" --latency "$@" -H "Host: ${host[$t]}" \
    "https://127.0.0.1:${port[$t]}/$path" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed against $t"; }
  profile_stop
  if [[ -n "$strace_pid" ]]; then
    kill -INT "$strace_pid" 2>/dev/null || true; wait "$strace_pid" || true
    local requests
    requests="$(awk '/ requests in / { print $1 }' "$out")"
    echo "# system calls of $t during $scenario ($requests requests), per request:" >&2
    # strace -c rows: % time, seconds, usecs/call, calls, [errors], syscall
    awk -v n="$requests" '$1 ~ /^[0-9.]+$/ && $4 ~ /^[0-9]+$/ && n > 0 {
        if ($NF == "total") total = $4; else printf "#   %-16s %6.2f\n", $NF, $4 / n }
      END { if (n > 0) printf "#   %-16s %6.2f\n", "total", total / n }' "syscalls.$t" >&2
  fi
  t1="$(ticks "${gwpid[$t]:-0}")"
  parsed="$(awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0
                     if (v ~ /m$/) return v * 60000; if (v ~ /h$/) return v * 3600000; return v * 1000 }
    / requests in /        { n = $1 }
    /^Requests\/sec:/      { rps = $2 }
    $1 == "50%"            { p50 = ms($2) }
    $1 == "99%"            { p99 = ms($2) }
    /Socket errors:/       { gsub(",", ""); err += $4 + $6 + $8 + $10 }
    /Non-2xx or 3xx/       { err += $NF }
    END { printf "%s %.0f %.3f %.3f %d\n", n, rps, p50, p99, err }' "$out")"
  read -r n rps p50 p99 err <<<"$parsed"
  [[ -n "$n" && "$n" != 0 ]] || { cat "$out" >&2; die "no requests completed against $t"; }
  record "$scenario" "$t" "$n" "$rps" "$p50" "$p99" "$err" "$t0" "$t1"
}

# run_stime SCENARIO TARGET: STIME_CLIENTS parallel `openssl s_time -new`
run_stime() {
  local scenario=$1 t=$2 i pid t0 t1 start end n=0 bad=0 spids=() line c
  profile_start "$scenario" "$t"
  t0="$(ticks "${gwpid[$t]:-0}")"
  start="$(date +%s%N)"
  for ((i = 1; i <= stime_clients; i++)); do
    openssl s_time -connect "127.0.0.1:${port[$t]}" -new -time "$stime_seconds" -www /1k >"stime.$t.$i" 2>&1 &
    spids+=($!)
    pids+=($!)
  done
  for pid in "${spids[@]}"; do
    wait "$pid" || bad=$((bad + 1))
    forget "$pid"
  done
  end="$(date +%s%N)"
  t1="$(ticks "${gwpid[$t]:-0}")"
  profile_stop
  for ((i = 1; i <= stime_clients; i++)); do
    line="$(grep -m1 'connections in .* real seconds' "stime.$t.$i" || true)"
    c="${line%% *}"
    if [[ "$c" =~ ^[0-9]+$ && "$c" -gt 0 ]]; then
      n=$((n + c))
      # a 1 KiB body plus headers; much less is an error page
      [[ "$line" =~ ([0-9]+)\ bytes\ read\ per ]] && ((BASH_REMATCH[1] < 1024)) && bad=$((bad + 1))
    else
      bad=$((bad + 1))
      sed 's/^/    s_time: /' "stime.$t.$i" | tail -5 >&2
    fi
  done
  ((n > 0)) || die "s_time made no connections to $t"
  rps="$(awk -v n="$n" -v ns="$((end - start))" 'BEGIN { printf "%.0f", n / (ns / 1e9) }')"
  record "$scenario" "$t" "$n" "$rps" n/a n/a "$bad" "$t0" "$t1"
}

# --- idle-tls: memory per idle keep-alive TLS client connection ---------------------------------
idle_rows=()   # scenario target open rss-before-kib rss-after-kib kib-per-conn gw-cpu-s errors
# idle-client.py IP PORT NAME CAFILE COUNT PATH: opens COUNT connections (TLS handshake verifying
# NAME against CAFILE, one keep-alive GET PATH read to its end), prints "ready ..." once all are
# open and idle, holds them, and on SIGTERM prints "held open=N closed=N" and exits
cat >idle-client.py <<'PY'
import errno, os, resource, selectors, signal, socket, ssl, sys, time

ip, port, name, cafile, count, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
WINDOW = 100        # connections being opened at once: well under any listen backlog
DEADLINE = 30.0     # seconds for one connection to be opened, shaken hands with and answered
MAX_FAILURES = max(10, count // 100)

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
if hard != resource.RLIM_INFINITY and hard < count + 64:
    sys.exit(f"error: {count} connections need more open files than the hard limit, {hard}")

ctx = ssl.create_default_context(cafile=cafile)   # verifies the chain and the host name
ctx.minimum_version = ssl.TLSVersion.TLSv1_2
request = f"GET {path} HTTP/1.1\r\nHost: {name}\r\n\r\n".encode()
sel = selectors.DefaultSelector()
opening, idle = set(), set()
done = failures = closed = 0
first_error = None

class Conn:
    __slots__ = ("sock", "step", "data", "deadline", "events")

def watch(c, events):
    if c.events != events:
        sel.modify(c.sock, events, c)
        c.events = events

def drop(c):
    try: sel.unregister(c.sock)
    except (KeyError, ValueError): pass
    c.sock.close()

def fail(c, error):
    global failures, first_error
    drop(c)
    opening.discard(c)
    failures += 1
    first_error = first_error or f"{type(error).__name__}: {error}"
    if failures > MAX_FAILURES:
        print(f"error: {failures} connections failed; the first: {first_error}", file=sys.stderr, flush=True)
        os._exit(1)

def start():
    c = Conn()
    c.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.sock.setblocking(False)
    c.step, c.data, c.deadline, c.events = "connect", b"", time.monotonic() + DEADLINE, selectors.EVENT_WRITE
    opening.add(c)
    err = c.sock.connect_ex((ip, port))
    if err not in (0, errno.EINPROGRESS):
        opening.discard(c); c.sock.close()
        return fail_new(OSError(err, os.strerror(err)))
    sel.register(c.sock, c.events, c)

def fail_new(error):
    global failures, first_error
    failures += 1
    first_error = first_error or f"{type(error).__name__}: {error}"

def response_complete(data):
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep: return False
    lines = head.split(b"\r\n")
    if not lines[0].startswith(b"HTTP/1.1 200"): raise ValueError(f"response {lines[0][:40]!r}")
    fields = {}
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        fields[k.strip().lower()] = v.strip().lower()
    if b"close" in fields.get(b"connection", b""): raise ValueError("the gateway closes the connection")
    if b"content-length" in fields: return len(body) >= int(fields[b"content-length"])
    if b"chunked" in fields.get(b"transfer-encoding", b""): return body.endswith(b"0\r\n\r\n")
    raise ValueError("response without a length")

def advance(c):
    global done, closed
    try:
        if c.step == "connect":
            err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err: raise OSError(err, os.strerror(err))
            sel.unregister(c.sock)
            c.sock = ctx.wrap_socket(c.sock, server_hostname=name, do_handshake_on_connect=False)
            sel.register(c.sock, c.events, c)
            c.step = "handshake"
        if c.step == "handshake":
            c.sock.do_handshake()
            c.step, c.data = "send", request
        if c.step == "send":
            while c.data:
                c.data = c.data[c.sock.send(c.data):]
            c.step = "receive"
        if c.step == "receive":
            while True:
                chunk = c.sock.recv(65536)
                if not chunk: raise OSError("closed before the response ended")
                c.data += chunk
                if response_complete(c.data): break
            c.step, c.data = "idle", b""
            opening.discard(c); idle.add(c)
            done += 1
            watch(c, selectors.EVENT_READ)
            return
        if c.step == "idle":
            if not c.sock.recv(4096):   # the gateway closed it (data would be a protocol error: ignored)
                idle.discard(c); drop(c); closed += 1
    except ssl.SSLWantReadError:
        watch(c, selectors.EVENT_READ)
    except ssl.SSLWantWriteError:
        watch(c, selectors.EVENT_WRITE)
    except (OSError, ValueError) as error:
        if c.step == "idle":
            idle.discard(c); drop(c); closed += 1
        else:
            fail(c, error)

def stop(*_):
    print(f"held open={len(idle)} closed={closed}", flush=True)
    os._exit(0)
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)

began = time.monotonic()
ready = False
while True:
    while len(opening) < WINDOW and done + len(opening) < count:
        start()
    if not ready and done == count:
        print(f"ready open={len(idle)} failed={failures} closed={closed} seconds={time.monotonic() - began:.1f}", flush=True)
        ready = True
    for key, _ in sel.select(timeout=1.0):
        advance(key.data)
    now = time.monotonic()
    for c in [c for c in opening if c.deadline < now]:
        fail(c, TimeoutError(f"not answered in {DEADLINE:.0f} s ({c.step})"))
PY

# established SOCKETS on the gateway side of PORT
established() { ss -Htn state established "( sport = :$1 )" | wc -l; }

# run_idle SCENARIO TARGET
run_idle() {
  local scenario=$1 t=$2 p="${port[$2]}" out="idle.$1.$2" cpid before after open t0 t1 i limit held err=0
  before="$(rss_kib "${gwpid[$t]}")"
  t0="$(ticks "${gwpid[$t]}")"
  python3 idle-client.py 127.0.0.1 "$p" "${host[$t]}" pki/root-ca.pem "$idle_tls" /1k >"$out" 2>"$out.err" &
  cpid=$!
  pids+=("$cpid")
  limit=$((600 + idle_tls / 10))   # tenths of a second: 60 s, and 10 ms per connection
  for ((i = 0; ; i++)); do
    grep -q '^ready ' "$out" 2>/dev/null && break
    alive "$cpid" || { cat "$out" "$out.err" >&2; die "the idle client exited before opening $idle_tls connections to $t"; }
    ((i < limit)) || { cat "$out.err" >&2; die "the idle client did not open $idle_tls connections to $t in $((limit / 10)) s"; }
    sleep 0.1
  done
  t1="$(ticks "${gwpid[$t]}")"
  sleep "$idle_settle"
  after="$(rss_kib "${gwpid[$t]}")"
  open="$(established "$p")"
  kill -TERM "$cpid" 2>/dev/null || true
  wait "$cpid" 2>/dev/null || true
  forget "$cpid"
  held="$(grep -m1 '^held ' "$out" || true)"
  [[ "$held" =~ open=([0-9]+) ]] && ((BASH_REMATCH[1] != idle_tls)) && err=$((idle_tls - BASH_REMATCH[1]))
  ((open == idle_tls)) || err=$((err > idle_tls - open ? err : idle_tls - open))
  [[ "$(head -1 "$out")" =~ failed=([0-9]+) ]] && err=$((err + BASH_REMATCH[1]))
  local cpu per
  cpu="$(awk -v a="$t0" -v b="$t1" -v hz="$clk_tck" 'BEGIN { printf "%.2f", (b - a) / hz }')"
  per="$(awk -v a="$before" -v b="$after" -v n="$idle_tls" 'BEGIN { printf "%.1f", (b - a) / n }')"
  idle_rows+=("$scenario	$t	$open	$before	$after	$per	$cpu	$err")
  printf '  %-14s %-10s %6s open  RSS %8s -> %8s KiB  %6s KiB/conn  opening: %s, gateway CPU %s s  errors %s\n' \
    "$scenario" "$t" "$open" "$before" "$after" "$per" "$(head -1 "$out" | sed 's/^ready //')" "$cpu" "$err" >&2
  # let the gateway close them before the next one is measured
  for ((i = 0; i < 100; i++)); do (($(ss -Htn "( sport = :$p )" | wc -l) < 16)) && break; sleep 0.1; done
}

echo "# warm-up ($warmup per target), then ${#scenarios[@]} scenario(s) x ${#targets[@]} targets, one target at a time" >&2
for t in "${targets[@]}"; do
  run_bg wrk -t1 -c"$connections" -d"$warmup" -H "Host: ${host[$t]}" "https://127.0.0.1:${port[$t]}/1k" >/dev/null 2>&1 || true
done
for scenario in "${scenarios[@]}"; do
  for t in "${targets[@]}"; do
    case "$scenario" in
      keepalive-1k) run_wrk keepalive-1k "$t" 1k ;;
      keepalive-64k) run_wrk keepalive-64k "$t" 64k ;;
      new-conn-1k) run_wrk new-conn-1k "$t" 1k -H 'Connection: close' ;;
      handshake-1k) run_stime handshake-1k "$t" ;;
      idle-tls) [[ -z "${gwpid[$t]}" ]] || run_idle idle-tls "$t" ;;   # the gateways, not the backend
    esac
  done
done
for t in "${targets[@]}"; do alive "${gwpid[$t]:-$backend_pid}" || die "$t exited during the run"; done

# --- report -------------------------------------------------------------------------------------
peers=(nginx ${haproxy_pid:+haproxy})
ratios=()
if ((${#rows[@]})); then
  echo
  fmt='%-14s %-16s %10s %9s %9s %10s %14s %7s\n'
  printf "$fmt" scenario target req/s p50-ms p99-ms gw-CPU-s req/gw-CPU-s errors
  for r in "${rows[@]}"; do IFS=$'\t' read -r -a c <<<"$r"; printf "$fmt" "${c[@]}"; done
  echo
  rfmt='%-14s %-18s %8s %10s %8s\n'
  printf "$rfmt" scenario ratio req/s req/CPU-s p99
  for s in "${scenarios[@]}"; do
    [[ "$s" == idle-tls ]] && continue
    for peer in "${peers[@]}"; do
      pr="" tgr=""
      for r in "${rows[@]}"; do
        [[ "$r" == "$s	$peer	"* ]] && pr="$r"
        [[ "$r" == "$s	trustgate	"* ]] && tgr="$r"
      done
      read -r a b c < <(awk -v pr="$pr" -v tg="$tgr" 'BEGIN {
        split(pr, x, "\t"); split(tg, y, "\t")
        num = "^[0-9.]+$"
        r1 = (x[3] ~ num && y[3] ~ num && x[3] > 0) ? sprintf("%.2f", y[3] / x[3]) : "n/a"
        r2 = (x[7] ~ num && y[7] ~ num && x[7] > 0) ? sprintf("%.2f", y[7] / x[7]) : "n/a"
        r3 = (x[5] ~ num && y[5] ~ num && x[5] > 0) ? sprintf("%.2f", y[5] / x[5]) : "n/a"
        print r1, r2, r3 }')
      printf "$rfmt" "$s" "trustgate/$peer" "$a" "$b" "$c"
      ratios+=("$s	trustgate/$peer	$a		$c		$b	")
    done
  done
fi
idle_ratios=()
if ((${#idle_rows[@]})); then
  echo
  ifmt='%-14s %-16s %7s %14s %13s %9s %10s %7s\n'
  printf "$ifmt" scenario target open RSS-before-KiB RSS-after-KiB KiB/conn gw-CPU-s errors
  for r in "${idle_rows[@]}"; do IFS=$'\t' read -r -a c <<<"$r"; printf "$ifmt" "${c[@]}"; done
  echo
  for peer in "${peers[@]}"; do
    pr="" tgr=""
    for r in "${idle_rows[@]}"; do
      [[ "$r" == "idle-tls	$peer	"* ]] && pr="$r"
      [[ "$r" == "idle-tls	trustgate	"* ]] && tgr="$r"
    done
    a="$(awk -v pr="$pr" -v tg="$tgr" 'BEGIN {
      split(pr, x, "\t"); split(tg, y, "\t")
      print (x[6] ~ /^-?[0-9.]+$/ && y[6] ~ /^-?[0-9.]+$/ && x[6] > 0) ? sprintf("%.2f", y[6] / x[6]) : "n/a" }')"
    printf '%-14s %-18s %s\n' idle-tls "trustgate/$peer" "KiB/conn $a"
    idle_ratios+=("idle-tls	trustgate/$peer				$a		")
  done
fi

if [[ -n "${RESULTS:-}" ]]; then
  results="$RESULTS"
  [[ "$results" == /* ]] || results="$start_dir/$results"   # relative to where the script was started
  {
    printf 'scenario\ttarget\treq_per_s\tp50_ms\tp99_ms\tgateway_cpu_s\treq_per_gateway_cpu_s\terrors\n'
    printf '%s\n' ${rows[@]+"${rows[@]}"} ${ratios[@]+"${ratios[@]}"}
    if ((${#idle_rows[@]})); then
      printf '\nscenario\ttarget\topen\trss_before_kib\trss_after_kib\tkib_per_connection\tgateway_cpu_s\terrors\n'
      printf '%s\n' "${idle_rows[@]}" "${idle_ratios[@]}"
    fi
  } >"$results"
  echo
  echo "# wrote $RESULTS"
fi
