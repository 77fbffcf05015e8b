#!/usr/bin/env bash
# Whole-process time of creating a self-signed EC P-256 certificate and key:
# `trustgate cert create` (release build) against `openssl req -x509`, in one run on one
# machine, with hyperfine when it is installed (apt-get install hyperfine), else a timed loop.
# Prints both means and the trustgate/openssl ratio. Not a test: figures go in notes.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${RUNS:-50}"
swift build -c release --product trustgate >/dev/null
tg="$(swift build -c release --show-bin-path)/trustgate"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

trustgate_cmd="$tg cert create x.test --out $work/tg --force"
openssl_cmd="openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=x -keyout $work/ossl.key -out $work/ossl.pem"

if command -v hyperfine >/dev/null 2>&1; then
  hyperfine --warmup 5 --runs "$runs" --export-json "$work/result.json" \
    -n trustgate "$trustgate_cmd" -n openssl "$openssl_cmd" >&2
  python3 - "$work/result.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
tg, ossl = results["trustgate"], results["openssl"]
print(f"trustgate cert create: mean {tg['mean']*1000:.2f} ms (σ {tg['stddev']*1000:.2f})")
print(f"openssl req -x509:     mean {ossl['mean']*1000:.2f} ms (σ {ossl['stddev']*1000:.2f})")
print(f"ratio trustgate/openssl: {tg['mean']/ossl['mean']:.2f}")
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
