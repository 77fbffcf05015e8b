#!/usr/bin/env bash
# Gateway CPU per request for hostile request heads, side by side with nginx, in one run: a head with 12,000
# Connection tokens, one with 12,000 fields, one with 3,000 fields of 20 bytes each under the head limit, and
# a plain GET (the baseline), each sent REQUESTS (default 50) times on new plain-HTTP connections to
# `trustgate gateway run` (release build) and to nginx, both proxying to one nginx backend. CPU is read from
# /proc/PID/task/*/schedstat (nanoseconds, every thread; for nginx its worker too). Prints the status each
# gateway answered and its CPU per request. Knobs: TRUSTGATE, REQUESTS. Linux only; needs nginx, curl and
# python3. Not a test: figures go in notes.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
requests="${REQUESTS:-50}"
tg="${TRUSTGATE:-$repo/.build/release/trustgate}"
[[ -x "$tg" ]] || { echo "no trustgate at $tg: swift build -c release --product trustgate" >&2; exit 1; }
tg="$(cd "$(dirname "$tg")" && pwd)/$(basename "$tg")"
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
for tool in curl python3 "$nginx_bin"; do command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }; done

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in ${pids[@]+"${pids[@]}"}; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in ${pids[@]+"${pids[@]}"}; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
read -r backend_port tg_port tg_tls nginx_port < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(4)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in ss))')
echo "# hostile-heads: $(date -u +%Y-%m-%dT%H:%M:%SZ); $requests requests per row, each on a new connection"
echo "# trustgate: $("$tg" --version 2>&1 | head -1); $("$nginx_bin" -v 2>&1)"
"$tg" cert testpki pki >/dev/null

user_line=""; ((EUID == 0)) && user_line="user root;"
nginx_conf() {  # NAME SERVER-BLOCK
  mkdir -p "$work/$1"
  cat >"$work/$1/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid "$work/$1/nginx.pid";
error_log "$work/$1/error.log" crit;
$user_line
events { worker_connections 1024; }
http {
  access_log off;
  large_client_header_buffers 4 64k;
  client_body_temp_path "$work/$1/body"; proxy_temp_path "$work/$1/proxy";
  fastcgi_temp_path "$work/$1/fcgi"; uwsgi_temp_path "$work/$1/uwsgi"; scgi_temp_path "$work/$1/scgi";
  $2
}
EOF
}
nginx_conf backend "server { listen 127.0.0.1:$backend_port; location / { return 200 ok; } }"
nginx_conf gateway "server { listen 127.0.0.1:$nginx_port; location / { proxy_pass http://127.0.0.1:$backend_port; proxy_http_version 1.1; } }"
for name in backend gateway; do
  "$nginx_bin" -p "$work/$name/" -c "$work/$name/nginx.conf" >"$work/$name/stdout" 2>&1 &
  pids+=("$!")
done
nginx_pid=${pids[1]}
cat >gateway.yaml <<EOF
gateway: g
threads: 1
listeners:
  - {name: main, address: 127.0.0.1, port: $tg_tls, certificate: {pfx: pki/gateway-listener.pfx, password-file: pki/gateway-listener.pass}}
  - {name: plain, address: 127.0.0.1, port: $tg_port, protocol: http}
pools:
  - {name: app, members: ["127.0.0.1:$backend_port"]}
backend-settings:
  - {name: h, protocol: http, host-name: backend.test}
rules:
  - {name: p, listener: plain, pool: app, settings: h}
  - {name: r, listener: main, pool: app, settings: h}
EOF
TRUSTGATE_STORE="$work/store.sqlite" "$tg" gateway run --config gateway.yaml >tg.log 2>&1 &
tg_pid=$!; pids+=("$tg_pid")
for _ in $(seq 100); do grep -q "listening plain" tg.log 2>/dev/null && break; sleep 0.1; done
sleep 0.5

python3 - <<'EOF'
tokens = ",".join(f"t{i}" for i in range(12000))
open("tokens.txt", "w").write(f"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: {tokens}\r\n\r\n")
fields = "".join(f"X-{i}: v\r\n" for i in range(12000))
open("fields.txt", "w").write(f"GET / HTTP/1.1\r\nHost: a.test\r\n{fields}\r\n")
many = "".join(f"X-Field-{i:05}: value\r\n" for i in range(3000))
open("limit.txt", "w").write(f"GET / HTTP/1.1\r\nHost: a.test\r\n{many}\r\n")
open("plain.txt", "w").write("GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
EOF

cpu_ns() {
  local total=0 pid task
  for pid in "$1" $(pgrep -P "$1" 2>/dev/null || true); do
    for task in /proc/"$pid"/task/*/schedstat; do
      [[ -r "$task" ]] && total=$((total + $(cut -d' ' -f1 "$task")))
    done
  done
  echo "$total"
}
# row NAME PID PORT FILE: REQUESTS times, a new connection each; the first status line of each answer.
row() {
  local before after statuses
  before=$(cpu_ns "$2")
  statuses=$(python3 - "$3" "$4" "$requests" <<'EOF'
import socket, sys, collections
port, path, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
data = open(path, "rb").read()
seen = collections.Counter()
for _ in range(count):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(data)
    except OSError:
        pass
    try:
        answer = s.recv(64)
    except OSError:
        answer = b""
    seen[answer.split(b"\r\n")[0].decode(errors="replace") or "(closed)"] += 1
    s.close()
print("; ".join(f"{n} x {k}" for k, n in seen.items()))
EOF
)
  after=$(cpu_ns "$2")
  printf '%-10s %-7s %8.3f ms   %s\n' "$1" "$(basename "$4" .txt)" "$(echo "($after - $before) / $requests / 1000000" | bc -l)" "$statuses"
}
echo "gateway    head    CPU per request   answers"
for file in plain.txt tokens.txt fields.txt limit.txt; do
  row trustgate "$tg_pid" "$tg_port" "$file"
  row nginx "$nginx_pid" "$nginx_port" "$file"
done
