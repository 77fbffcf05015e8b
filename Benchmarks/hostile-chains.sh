#!/usr/bin/env bash
# Gateway CPU per upstream handshake when the backend presents a fresh hostile chain every time: the
# backend's real leaf followed by CHAIN_LENGTH (default 200) junk CA certificates, each issued by the
# next (a chain a naive path builder walks to the end), new names and keys per handshake so no verdict
# cache helps. Side by side in one run: `trustgate gateway run` (release build) and nginx as the same
# kind of gateway (proxy_ssl_verify on, the test root trusted), each for HANDSHAKES (default 20)
# requests against the junk chain and as many against the valid chain (the baseline: client TLS,
# upstream TLS, proxying). CPU is read from /proc/PID/task/*/schedstat (nanoseconds, every thread;
# for nginx its worker and master). Prints per-handshake CPU for both chains and both gateways.
# Knobs: TRUSTGATE, HANDSHAKES, CHAIN_LENGTH. Linux only; needs openssl, curl, nginx and python3
# with the `cryptography` package. Not a test: figures go in notes.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
handshakes="${HANDSHAKES:-20}"
length="${CHAIN_LENGTH:-200}"
tg="${TRUSTGATE:-$repo/.build/release/trustgate}"
[[ -x "$tg" ]] || { echo "no trustgate at $tg: swift build -c release --product trustgate" >&2; exit 1; }
tg="$(cd "$(dirname "$tg")" && pwd)/$(basename "$tg")"
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
for tool in openssl curl python3 "$nginx_bin"; do command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }; done
python3 -c 'import cryptography' 2>/dev/null || { echo "missing python3 cryptography (pip install cryptography)" >&2; exit 1; }

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in ${pids[@]+"${pids[@]}"}; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in ${pids[@]+"${pids[@]}"}; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

read -r backend_port tg_port nginx_port < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in ss))')

echo "# hostile-chains: $(date -u +%Y-%m-%dT%H:%M:%SZ); $handshakes handshakes per row, junk chains of $length CA certificates"
echo "# trustgate: $("$tg" --version 2>&1 | head -1); $("$nginx_bin" -v 2>&1); $(openssl version)"
"$tg" cert testpki pki >/dev/null
TRUSTGATE_STORE="$work/store.sqlite" "$tg" allowlist add --gateway g pki/root-ca.pem >/dev/null

# One junk chain per handshake: CA certificates named afresh, each signed by the next one's key.
python3 - "$handshakes" "$length" <<'EOF'
import datetime, os, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
count, length = int(sys.argv[1]), int(sys.argv[2])
os.makedirs("junk", exist_ok=True)
now = datetime.datetime.now(datetime.timezone.utc)
for i in range(count):
    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(length + 1)]
    names = [x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Junk {os.urandom(6).hex()} {k}")]) for k in range(length + 1)]
    with open(f"junk/{i}.pem", "wb") as out:
        for k in range(length):
            cert = (x509.CertificateBuilder().subject_name(names[k]).issuer_name(names[k + 1])
                    .public_key(keys[k].public_key()).serial_number(x509.random_serial_number())
                    .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
                    .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                    .sign(keys[k + 1], hashes.SHA256()))
            out.write(cert.public_bytes(serialization.Encoding.PEM))
EOF

cat >gateway.yaml <<EOF
gateway: g
threads: 1
listeners:
  - {name: main, address: 127.0.0.1, port: $tg_port, certificate: {pfx: pki/gateway-listener.pfx, password-file: pki/gateway-listener.pass}}
pools:
  - {name: app, members: ["127.0.0.1:$backend_port"]}
backend-settings:
  - {name: e2e, host-name: backend.test, trust: trusted-root}
rules:
  - {name: r, listener: main, pool: app, settings: e2e}
EOF
openssl pkcs12 -in pki/gateway-listener.pfx -passin file:pki/gateway-listener.pass -nokeys -out listener.pem 2>/dev/null
openssl pkcs12 -in pki/gateway-listener.pfx -passin file:pki/gateway-listener.pass -nocerts -nodes -out listener.key 2>/dev/null
mkdir -p nginx
user_line=""; ((EUID == 0)) && user_line="user root;"
cat >nginx/nginx.conf <<EOF
worker_processes 1;
daemon off;
pid "$work/nginx/nginx.pid";
error_log "$work/nginx/error.log" crit;
$user_line
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path "$work/nginx/body"; proxy_temp_path "$work/nginx/proxy";
  fastcgi_temp_path "$work/nginx/fcgi"; uwsgi_temp_path "$work/nginx/uwsgi"; scgi_temp_path "$work/nginx/scgi";
  server {
    listen 127.0.0.1:$nginx_port ssl;
    ssl_certificate "$work/listener.pem";
    ssl_certificate_key "$work/listener.key";
    location / {
      proxy_pass https://127.0.0.1:$backend_port;
      proxy_ssl_verify on;
      proxy_ssl_verify_depth 8;
      proxy_ssl_trusted_certificate "$work/pki/root-ca.pem";
      proxy_ssl_name backend.test;
      proxy_ssl_server_name on;
    }
  }
}
EOF

TRUSTGATE_STORE="$work/store.sqlite" "$tg" gateway run --config gateway.yaml >tg.log 2>&1 &
tg_pid=$!; pids+=("$tg_pid")
"$nginx_bin" -p "$work/nginx/" -c "$work/nginx/nginx.conf" >nginx/stdout 2>&1 &
nginx_pid=$!; pids+=("$nginx_pid")
for _ in $(seq 100); do grep -q "listening main" tg.log 2>/dev/null && break; sleep 0.1; done
sleep 0.5

# CPU nanoseconds of a process and its children (nginx's worker), every thread.
cpu_ns() {
  local total=0 pid task
  for pid in "$1" $(pgrep -P "$1" 2>/dev/null || true); do
    for task in /proc/"$pid"/task/*/schedstat; do
      [[ -r "$task" ]] && total=$((total + $(cut -d' ' -f1 "$task")))
    done
  done
  echo "$total"
}

# row NAME GATEWAY-PID GATEWAY-PORT CHAIN(junk|valid): a fresh backend per handshake, one request each.
row() {
  local name=$1 pid=$2 port=$3 chain=$4 total=0 statuses="" i server before after status
  for i in $(seq 0 $((handshakes - 1))); do
    local chain_file="pki/backend-valid.pem"
    [[ "$chain" == junk ]] && chain_file="junk/$i.pem"
    openssl s_server -accept "127.0.0.1:$backend_port" -www -cert pki/backend-valid.pem -key pki/backend-valid.key \
      -cert_chain "$chain_file" >server.log 2>&1 &
    server=$!
    for _ in $(seq 100); do grep -q ACCEPT server.log 2>/dev/null && break; sleep 0.02; done
    before=$(cpu_ns "$pid")
    status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 --cacert pki/root-ca.pem \
      --resolve "gateway.test:$port:127.0.0.1" "https://gateway.test:$port/") || status=000
    after=$(cpu_ns "$pid")
    kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true
    total=$((total + after - before))
    statuses+="$status "
  done
  printf '%-10s %-6s %8.2f ms   statuses: %s\n' "$name" "$chain" "$(echo "$total / $handshakes / 1000000" | bc -l)" \
    "$(echo "$statuses" | tr ' ' '\n' | sort | uniq -c | tr -s ' ' | tr '\n' ' ')"
}
echo "gateway    chain  CPU per request (client TLS + upstream handshake)"
row trustgate "$tg_pid" "$tg_port" valid
row trustgate "$tg_pid" "$tg_port" junk
row nginx "$nginx_pid" "$nginx_port" valid
row nginx "$nginx_pid" "$nginx_port" junk
grep -o 'category=[a-z-]*' tg.log | sort | uniq -c | sed 's/^/# trustgate rejections: /'
