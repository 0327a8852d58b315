#!/usr/bin/env bash
# The command reference, docs/ocs.1 (mdoc), is generated from the argument-parser definitions by
# swift-argument-parser's own generate-manual plugin, run on the debug build that scripts/test.sh
# has just made: the plugin builds only its small tool (20-40 s) and finds the package built.
# Fails when the committed page differs from what the binary says, so the reference cannot drift.
#   bash scripts/check-manual.sh            check (keeps the page's date)
#   bash scripts/check-manual.sh --update   write docs/ocs.1 anew, dated today
set -euo pipefail
cd "$(dirname "$0")/.."
page=docs/ocs.1
generated=.build/plugins/GenerateManual/outputs/ocs/ocs.1
log=.build/generate-manual.log
fail() { echo "check-manual: FAIL: $*" >&2; exit 1; }

if [ "${1:-}" = --update ]; then
    date=$(date -u +%F)
else
    [ -f "$page" ] || fail "$page is missing: run bash scripts/check-manual.sh --update and commit it"
    # The page's own date (.Dd December 1, 2026), so only a change of a command shows as a difference.
    date=$(date -u -d "$(sed -n 's/^\.Dd //p' "$page")" +%F) || fail "$page has no readable .Dd date line"
fi
mkdir -p .build
rm -f "$generated"
swift package plugin generate-manual --configuration debug --date "$date" >"$log" 2>&1 \
    || { tail -n 30 "$log" >&2; fail "the generate-manual plugin failed (whole log: $log)"; }
[ -f "$generated" ] || fail "the plugin wrote no $generated (log: $log)"

if [ "${1:-}" = --update ]; then
    cp "$generated" "$page"
    echo "check-manual: wrote $page"
    exit 0
fi
if ! diff -u "$page" "$generated" >.build/ocs.1.diff; then
    head -n 60 .build/ocs.1.diff >&2
    fail "$page differs from the commands the binary defines (diff above, whole: .build/ocs.1.diff):
run bash scripts/check-manual.sh --update and commit $page"
fi
echo "check-manual: $page matches the commands the binary defines"
