#!/usr/bin/env bash
# Coverage-guided fuzzing of one parser with libFuzzer:  scripts/fuzz.sh TARGET SECONDS [libFuzzer flags...]
#
# Builds trustgate-fuzz for libFuzzer with AddressSanitizer (release, its own build directory .build-fuzz), then
# runs TARGET for SECONDS on a working corpus seeded from Tests/FuzzRegressions/TARGET. A crash, a sanitizer
# report, a timeout (5 s per input) or an out-of-memory stops it; the input is written to
# .build-fuzz/findings/TARGET/ — commit it under Tests/FuzzRegressions/TARGET/ once fixed, and `swift test`
# replays it from then on. Targets: certificate pem pkcs12 private-key request-head response-head
# chunked-body gateway-yaml tls-certificate-message name-constraints store-url.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer flags]}
seconds=${2:?usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer flags]}
shift 2
[ -d "Tests/FuzzRegressions/$target" ] || { echo "unknown target $target: see Tests/FuzzRegressions/" >&2; exit 64; }

# libFuzzer's coverage instrumentation and AddressSanitizer, with the libFuzzer runtime that leaves main() to
# the program (SwiftPM renames an executable's main, which -sanitize=fuzzer's own main would collide with).
runtime=$(dirname "$(command -v swiftc)")/../lib/swift/clang/lib/linux/libclang_rt.fuzzer_no_main-$(uname -m).a
[ -f "$runtime" ] || { echo "no libFuzzer runtime at $runtime" >&2; exit 69; }
flags=(-c release --scratch-path .build-fuzz -Xswiftc -sanitize=address
  -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp -Xswiftc -DTRUSTGATE_FUZZING
  -Xlinker "$runtime" -Xlinker -lstdc++)
swift build "${flags[@]}" --product trustgate-fuzz >&2
binary=$(swift build "${flags[@]}" --show-bin-path)/trustgate-fuzz

corpus=.build-fuzz/corpus/$target
findings=.build-fuzz/findings/$target
mkdir -p "$corpus" "$findings"
cp -n "Tests/FuzzRegressions/$target"/* "$corpus"/ 2>/dev/null || true
TRUSTGATE_FUZZ_TARGET=$target "$binary" "$corpus" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 \
  -max_len=131072 -artifact_prefix="$findings/" -print_final_stats=1 "$@"
