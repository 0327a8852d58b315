#!/usr/bin/env bash
# What the server spends per anonymous poll, for comparing two builds of the hot path.
#
#   bash Benchmarks/instructions-per-poll.sh [OCS] [N]     # OCS: a release binary (default: this
#                                                          # package's, built if missing)
#   METHOD=cpu bash Benchmarks/instructions-per-poll.sh ... # CPU time instead of instructions
#
# METHOD=callgrind (default, N=2000): instructions, which other load on the machine does not
# disturb. `ocs serve` runs under `valgrind --tool=callgrind` on a temporary database with the
# repository's rules, access log off (as in run.sh). 200 polls warm it up (the feed is signed and
# cached by the first); then the counters are zeroed (callgrind_control --zero), curl sends N
# anonymous polls for the 2019 CU14 build over one keep-alive connection (one curl invocation
# listing the URL N times), and the counters are dumped (callgrind_control --dump). The figure is
# the dump's instructions (Ir, every thread of the server: event loops and thread pool) over N,
# so start-up, warm-up and shutdown are left out. What else runs meanwhile (the serial watcher's
# tick, idle threads) is counted too; it is small against N polls and the same for both builds.
# Debian 12's valgrind 3.19 dies on start-up of a Swift 6.3 binary (an internal SIGSEGV as the
# runtime starts its first thread, under every tool), so on such a machine use:
#
# METHOD=cpu (N=20000): the same polls against the server run directly, measured as its CPU time
# (utime + stime of every thread, /proc/PID/stat) over N, in µs. Timer ticks and the machine's
# other load make it coarser: compare builds in alternating runs on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."

OCS=${1:-}
METHOD=${METHOD:-callgrind}
case "$METHOD" in
    callgrind) N=${2:-2000} ;;
    cpu) N=${2:-20000} ;;
    *) echo "METHOD must be callgrind or cpu" >&2; exit 2 ;;
esac
BUILD=15.2.1544.4   # Exchange 2019 CU14
if [ "$METHOD" = callgrind ] && ! command -v callgrind_control >/dev/null; then
    echo "needs valgrind (apt-get install valgrind)" >&2
    exit 2
fi
if [ -z "$OCS" ]; then
    OCS="$(swift build -c release --show-bin-path)/ocs"
    [ -x "$OCS" ] || swift build -c release --product ocs
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ocs-instructions.XXXXXX")
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

if [ "$METHOD" = callgrind ]; then
    # Valgrind's debug-info reader gives up on the DWARF of a Swift release binary ("possibly
    # corrupted debuginfo file"): it runs a copy without debug info (symbols stay, instructions
    # count the same).
    objcopy --strip-debug "$OCS" "$work/ocs"
    valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out.%p" \
        "$work/ocs" serve --host 127.0.0.1 --port 0 --db "$work/ocs.sqlite" --rules Rules --log-level error --access-log off \
        > "$work/ocs.out" 2> "$work/server.err" &
else
    "$OCS" serve --host 127.0.0.1 --port 0 --db "$work/ocs.sqlite" --rules Rules --log-level error --access-log off \
        > "$work/ocs.out" 2> "$work/server.err" &
fi
server=$!
for _ in $(seq 1 600); do
    grep -q "listening on" "$work/ocs.out" 2>/dev/null && break
    kill -0 "$server" 2>/dev/null || break
    sleep 0.5
done
port=$(sed -n 's/^listening on http:\/\/127.0.0.1:\([0-9]*\)$/\1/p' "$work/ocs.out")
[ -n "$port" ] || { tail -20 "$work/server.err"; echo "ocs did not start" >&2; exit 1; }

url="http://127.0.0.1:$port/getexchangemitigations?build=$BUILD"
polls() { # count
    local urls=()
    for _ in $(seq 1 "$1"); do urls+=("$url"); done
    curl -sf "${urls[@]}" > /dev/null
}
polls 200
if [ "$METHOD" = cpu ]; then
    ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
    before=$(ticks)
    polls "$N"
    after=$(ticks)
    echo "binary: $OCS"
    echo "polls: $N over one keep-alive connection"
    awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$N" 'BEGIN {printf "CPU per poll: %.1f µs\n", t * 1000000 / hz / n}'
    exit 0
fi
callgrind_control --zero "$server" > /dev/null
polls "$N"
callgrind_control --dump=polls "$server" > /dev/null
kill -TERM "$server"
wait "$server" || true
server=""

# The dump made by --dump (the file whose description is "polls"); its totals line holds Ir.
dump=$(grep -l '^desc: Trigger: .*polls' "$work"/callgrind.out.* | head -1)
instructions=$(sed -n 's/^totals: \([0-9]*\).*/\1/p' "$dump")
echo "binary: $OCS"
echo "polls: $N over one keep-alive connection"
echo "instructions: $instructions"
awk -v i="$instructions" -v n="$N" 'BEGIN {printf "instructions per poll: %.0f\n", i / n}'
