#!/usr/bin/env bash
# Regenerates the command man pages in Man/ from the commands' --help text, with
# swift-argument-parser's generate-manual plugin. The date is pinned so that
# regenerating without a change to the commands changes nothing.
# Man/*.5 pages are hand-written and left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
date="${MAN_DATE:-2026-11-22}"
swift package generate-manual --configuration debug --multi-page --date "$date" >/dev/null
out=.build/plugins/GenerateManual/outputs/trustgate
rm -f Man/trustgate*.1
for page in "$out"/trustgate*.1; do
  case "$(basename "$page")" in
    trustgate.help.1) continue ;;  # ArgumentParser's built-in `help` verb
  esac
  cp "$page" Man/
done
ls Man
