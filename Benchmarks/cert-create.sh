#!/usr/bin/env bash
# Whole-process time of the CLI: `trustgate --version` against `openssl version` (start-up
# alone), and creating a self-signed EC P-256 certificate and key, `trustgate cert create`
# against `openssl req -x509`, in one run on one machine, with hyperfine when it is installed
# (apt-get install hyperfine), else a timed loop. The release build is the one README names
# (the Swift runtime linked statically); TRUSTGATE=path measures another binary. Prints the
# means and the trustgate/openssl ratios. Not a test: figures go in notes.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${RUNS:-50}"
if [[ -n "${TRUSTGATE:-}" ]]; then
  tg="$TRUSTGATE"
else
  swift build -c release --static-swift-stdlib --product trustgate >/dev/null
  tg="$(swift build -c release --static-swift-stdlib --show-bin-path)/trustgate"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

trustgate_cmd="$tg cert create x.test --out $work/tg --force"
openssl_cmd="openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=x -keyout $work/ossl.key -out $work/ossl.pem"

if command -v hyperfine >/dev/null 2>&1; then
  hyperfine -N --warmup 5 --runs "$runs" --export-json "$work/result.json" \
    -n "trustgate --version" "$tg --version" -n "openssl version" "openssl version" \
    -n trustgate "$trustgate_cmd" -n openssl "$openssl_cmd" >&2
  python3 - "$work/result.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
def line(name, label):
    r = results[name]
    print(f"{label}: mean {r['mean']*1000:.2f} ms (σ {r['stddev']*1000:.2f})")
line("trustgate --version", "trustgate --version  ")
line("openssl version", "openssl version      ")
line("trustgate", "trustgate cert create")
line("openssl", "openssl req -x509    ")
print(f"ratio start-up trustgate/openssl: {results['trustgate --version']['mean']/results['openssl version']['mean']:.2f}")
print(f"ratio cert create trustgate/openssl: {results['trustgate']['mean']/results['openssl']['mean']:.2f}")
PY
else
  time_loop() {
    local start end
    start=$(date +%s%N)
    for _ in $(seq "$runs"); do eval "$1" >/dev/null 2>&1; done
    end=$(date +%s%N)
    echo $(( (end - start) / runs / 1000 ))
  }
  t=$(time_loop "$trustgate_cmd"); o=$(time_loop "$openssl_cmd")
  echo "trustgate cert create: mean $t µs; openssl req -x509: mean $o µs"
  python3 -c "print(f'ratio trustgate/openssl: {$t/$o:.2f}')"
fi
