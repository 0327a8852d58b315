#!/usr/bin/env bash
# CPU per identified poll of two ocs binaries, measured in turn (A, B, A, B, ...) under the same
# load, so the drift of a shared machine falls on both: each round starts the binary on a fresh
# database, warms it with 3 s of polls, then reads the server's CPU time (perf stat task-clock)
# over 6 s of wrk with Benchmarks/identified.lua. HOSTS=0 (default): a new host each poll; HOSTS=N:
# N hosts per wrk thread polling in turn. Prints each round and the median per binary.
# Usage: bash Benchmarks/cpu-ab.sh OCS_A OCS_B   (ROUNDS=3, HOSTS=0, FLAGS_A / FLAGS_B: extra
# `ocs serve` options, default "--check-ins any --max-hosts 10000000 --new-hosts-per-address 1000000";
# give FLAGS_A="" for a binary older than those options)
set -euo pipefail
cd "$(dirname "$0")/.."
source Benchmarks/measure.sh
[ $# -eq 2 ] || { echo "usage: bash Benchmarks/cpu-ab.sh OCS_A OCS_B" >&2; exit 2; }
ROUNDS=${ROUNDS:-3}
HOSTS=${HOSTS:-0}
default_flags="--check-ins any --max-hosts 10000000 --new-hosts-per-address 1000000"
FLAGS_A=${FLAGS_A-$default_flags}
FLAGS_B=${FLAGS_B-$default_flags}
for tool in wrk perf; do command -v $tool >/dev/null || { echo "cpu-ab: needs $tool" >&2; exit 1; }; done

round() { # binary flags run
    local work pid base requests clock
    work=$(mktemp -d)
    # shellcheck disable=SC2086
    "$1" serve --host 127.0.0.1 --port 0 --db "$work/ocs.sqlite" --rules Rules --access-log off --log-level error $2 \
        >"$work/out" 2>"$work/log" &
    pid=$!
    for _ in $(seq 100); do grep -q '^listening on' "$work/out" 2>/dev/null && break; sleep 0.1; done
    base=$(sed -n 's/^listening on //p' "$work/out")
    [ -n "$base" ] || { echo "cpu-ab: $1 did not start: $(cat "$work/log")" >&2; kill "$pid" 2>/dev/null; return 1; }
    wrk -t2 -c64 -d3s -s Benchmarks/identified.lua "$base" -- 15.2.1544.4 "$HOSTS" "$3" >/dev/null
    perf stat -e task-clock -p "$pid" -o "$work/stat" -- sleep 6 >/dev/null 2>&1 &
    local stat=$!
    requests=$(wrk -t2 -c64 -d6s -s Benchmarks/identified.lua "$base" -- 15.2.1544.4 "$HOSTS" "$(($3 + 1))" | awk '/ requests in / {print $1}')
    wait "$stat"
    clock=$(awk '/task-clock/ {gsub(",", "", $1); print $1}' "$work/stat")
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
    rm -rf "$work"
    echo "scale=1; $clock * 1000 / $requests" | bc
}

a=(); b=()
for i in $(seq "$ROUNDS"); do
    a+=("$(round "$1" "$FLAGS_A" $((i * 4)))"); echo "round $i: A ${a[-1]} µs"
    b+=("$(round "$2" "$FLAGS_B" $((i * 4 + 2)))"); echo "round $i: B ${b[-1]} µs"
done
echo "CPU per poll (median of $ROUNDS, µs): A $(printf '%s\n' "${a[@]}" | median)  B $(printf '%s\n' "${b[@]}" | median)"
