#!/usr/bin/env bash
# Idle-connection floods against `trustgate gateway run` (release build): IDLE (default 5000) connections
# that send nothing against a plain listener with `max-connections: LIMIT` (default 1000) and
# `client-timeouts: {header: HEADER}` (default 5s). Reports the most connections the gateway held open at
# once (its trustgate_open_connections metric, sampled), whether a keep-alive client connected before the
# flood is still answered during it, and how long until every idle connection was closed by the gateway.
# Then SILENT (default 2000) connections against the default max-connections: when they were all closed.
# Knobs: TRUSTGATE, IDLE, LIMIT, HEADER (seconds), SILENT. Linux only; needs python3 and curl. Not a test:
# figures go in notes.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
idle="${IDLE:-5000}"; limit="${LIMIT:-1000}"; header="${HEADER:-5}"; silent="${SILENT:-2000}"
tg="${TRUSTGATE:-$repo/.build/release/trustgate}"
[[ -x "$tg" ]] || { echo "no trustgate at $tg: swift build -c release --product trustgate" >&2; exit 1; }
tg="$(cd "$(dirname "$tg")" && pwd)/$(basename "$tg")"
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in ${pids[@]+"${pids[@]}"}; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in ${pids[@]+"${pids[@]}"}; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
"$tg" cert testpki pki >/dev/null
read -r backend plain plain2 tls admin < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(5)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in ss))')
# A backend that answers every request with 200 (python's http.server, HTTP/1.1 keep-alive).
cat >backend.py <<'EOF'
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
EOF
python3 backend.py "$backend" & pids+=("$!")
cat >gateway.yaml <<EOF
gateway: g
threads: 1
admin: {port: $admin}
client-timeouts: {header: ${header}s}
listeners:
  - {name: main, address: 127.0.0.1, port: $tls, certificate: {pfx: pki/gateway-listener.pfx, password-file: pki/gateway-listener.pass}}
  - {name: plain, address: 127.0.0.1, port: $plain, protocol: http, max-connections: $limit}
  - {name: open, address: 127.0.0.1, port: $plain2, protocol: http}
pools:
  - {name: app, members: ["127.0.0.1:$backend"]}
backend-settings:
  - {name: h, protocol: http, host-name: backend.test}
rules:
  - {name: p, listener: plain, pool: app, settings: h}
  - {name: o, listener: open, pool: app, settings: h}
  - {name: r, listener: main, pool: app, settings: h}
EOF
TRUSTGATE_STORE="$work/store.sqlite" "$tg" gateway run --config gateway.yaml >tg.log 2>&1 & pids+=("$!")
for _ in $(seq 100); do grep -q "admin listening" tg.log 2>/dev/null && break; sleep 0.1; done
echo "# idle-connections: $(date -u +%Y-%m-%dT%H:%M:%SZ); trustgate $("$tg" --version 2>&1 | head -1)"
python3 - "$plain" "$plain2" "$admin" "$idle" "$limit" "$header" "$silent" <<'EOF'
import resource, socket, sys, time, urllib.request, select
plain, plain2, admin, idle, limit, header, silent = (int(v) for v in sys.argv[1:8])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, idle + silent + 1024)), hard))
def open_connections():
    text = urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5).read().decode()
    return int(float(next(l.split()[-1] for l in text.splitlines() if l.startswith("trustgate_open_connections "))))
def ask(sock):
    sock.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
    sock.settimeout(5)
    return sock.recv(4096).split(b"\r\n")[0].decode()
kept = socket.create_connection(("127.0.0.1", plain)); kept.settimeout(5)
print("keep-alive client before the flood:", ask(kept))
start = time.time()
flood = []
for _ in range(idle):
    s = socket.socket(); s.setblocking(False)
    try: s.connect(("127.0.0.1", plain))
    except BlockingIOError: pass
    flood.append(s)
most = 0
for _ in range(20):
    most = max(most, open_connections()); time.sleep(0.1)
print(f"{idle} idle connections against max-connections {limit}: at most {most} open at once (metric)")
print("keep-alive client during the flood:", ask(kept))
# Closed by the gateway: a read returns b"" (or the connect never completed and was reset).
def closed_by_peer(pending, deadline):
    """Polls until every socket in `pending` has been closed by the gateway, or `deadline`."""
    by_fd = {s.fileno(): s for s in pending}
    poller = select.poll()
    for fd in by_fd: poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    while by_fd and time.time() < deadline:
        for fd, _ in poller.poll(200):
            s = by_fd.get(fd)
            if s is None: continue
            try:
                gone = s.recv(1) == b""
            except (BlockingIOError, InterruptedError):
                gone = False
            except OSError:
                gone = True
            if gone:
                poller.unregister(fd); del by_fd[fd]
    return len(by_fd)
pending = closed_by_peer(flood, start + header * (idle // limit + 2) + 10)
print(f"every idle connection closed by the gateway after {time.time() - start:.1f} s ({pending} left), "
      f"in waves of at most {limit} per {header} s header timeout")
for s in flood: s.close()
start = time.time()
quiet = [socket.create_connection(("127.0.0.1", plain2)) for _ in range(silent)]
print(f"{silent} silent connections (default max-connections) opened in {time.time() - start:.1f} s")
pending = closed_by_peer(quiet, start + header + 10)
print(f"all {silent} closed {time.time() - start:.2f} s after the first connect ({pending} left; header timeout {header} s)")
EOF
