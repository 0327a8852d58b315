#!/usr/bin/env bash
# Runs the examples of the README, then of the docs listed below, in order, as a newcomer would:
# every ```sh block (```bash blocks are set-up shown but not run), in one shell, from the root of
# a fresh clone of this checkout's commit, against a real `ocs serve` started in the background on
# a free loopback port. Fails on the first command that fails (curl fails on an HTTP error).
#
# Three things differ from a person following the README, each to avoid work CI has done already:
# - the README's install step (`swift build`, then `.build/debug` first on PATH) is replaced by the
#   already-built binary's folder first on PATH: no second cold build;
# - the server is that binary's `ocs serve --port 0`, not `swift run ocs serve` in a terminal;
# - `127.0.0.1:8080` in the examples is replaced by the port the server picked.
#
# Usage: bash scripts/readme-examples.sh [FOLDER-HOLDING-ocs]   (default: .build/debug)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=$(cd "${1:-$repo/.build/debug}" && pwd)
documents=(README.md docs/feed-protocol.md docs/rules.md docs/api.md docs/fleet.md docs/agent.md docs/windows-agent.md docs/upstream.md docs/sites.md docs/operations.md)

fail() { echo "readme-examples: FAIL: $*" >&2; exit 1; }
[ -x "$bin/ocs" ] || fail "no ocs in $bin: build it first (swift build --product ocs)"
started=$(date +%s)

work=$(mktemp -d "${TMPDIR:-/tmp}/ocs-readme-examples.XXXXXX")
server=""
cleanup() {
    if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# A fresh clone: only what is committed, so an example cannot lean on a file left in the checkout.
git clone -q --no-checkout "$repo" "$work/ocs"
git -C "$work/ocs" checkout -q --detach "$(git -C "$repo" rev-parse HEAD)"
cd "$work/ocs"
export PATH="$bin:$PATH"
hash -r
[ "$(command -v ocs)" = "$bin/ocs" ] || fail "ocs on PATH is $(command -v ocs), not $bin/ocs"

ocs serve --port 0 --access-log off >"$work/server.out" 2>"$work/server.log" &
server=$!
port=""
for _ in $(seq 600); do
    port=$(sed -n 's|^listening on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$work/server.out")
    [ -n "$port" ] && break
    kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; fail "ocs serve exited before listening"; }
    sleep 0.1
done
[ -n "$port" ] || { cat "$work/server.log" >&2; fail "ocs serve did not listen within 60 s"; }

# The examples as one script: a header line per block, naming where it comes from.
examples="$work/examples.sh"
for document in "${documents[@]}"; do
    [ -f "$document" ] || fail "$document is not in the clone"
    awk -v document="$document" '
        /^```sh[[:space:]]*$/ { inside = 1; printf "echo %s\n", "\"--- " document ":" NR + 1 "\""; next }
        inside && /^```[[:space:]]*$/ { inside = 0; next }
        inside { print }
        END { if (inside) { print "unterminated ```sh block in " document > "/dev/stderr"; exit 1 } }
    ' "$document" >>"$examples"
done
sed -i "s|127\.0\.0\.1:8080|127.0.0.1:$port|g" "$examples"
blocks=$(grep -c '^echo "--- ' "$examples")

# curl reads this: an HTTP error fails the command (its body and the error still shown), and no
# progress meter fills the log.
printf 'fail-with-body\nsilent\nshow-error\n' >"$work/.curlrc"
status=0
CURL_HOME="$work" timeout 240 bash -euo pipefail -x "$examples" >"$work/examples.log" 2>&1 || status=$?
cat "$work/examples.log"
if [ "$status" -ne 0 ]; then
    echo "--- server log:" >&2
    tail -n 40 "$work/server.log" >&2
    fail "an example failed (exit status $status); the last command above is the one"
fi
echo "readme-examples: $blocks blocks of ${#documents[@]} documents ran on a fresh clone in $(( $(date +%s) - started )) s"
