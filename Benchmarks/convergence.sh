#!/usr/bin/env bash
# Time to protection: from publishing a rule to 95 % and 100 % of in-scope hosts applied, with
# HOSTS simulated agents (10,000 by default), in two runs on fresh servers:
# - wait: hosts hold polls the server answers when their feed changes (`ocs simulate --wait`, as
#   `ocs agent run` does) and report what they applied at once;
# - poll: hosts poll every INTERVAL (60 s) and report on their next poll, as Microsoft's EM
#   service does (the floor is about two intervals: one to receive the rule, one to report it).
# For each: the time the coverage API (read every 0.2 s) first shows 95 % and 100 %, the server's
# CPU and RSS while the fleet waits idle and during convergence, and in the wait run the RSS per
# held poll (RSS with every host held, less RSS before the fleet came, over HOSTS).
# PERF=1 records the server with `perf` during the wait run's convergence (report in $PERF_OUT).
# Usage: bash Benchmarks/convergence.sh [path/to/ocs]   (HOSTS, INTERVAL, SPREAD, WAIT, IDLE, LIMIT, MODES)
set -euo pipefail
cd "$(dirname "$0")/.."
OCS=${1:-.build/debug/ocs}
HOSTS=${HOSTS:-10000}
INTERVAL=${INTERVAL:-60}       # seconds between polls in the poll run
SPREAD=${SPREAD:-20}           # seconds over which the wait run's hosts make their first poll
WAIT=${WAIT:-240}              # seconds each held poll asks for
IDLE=${IDLE:-10}               # seconds of idle fleet measured before publishing
LIMIT=${LIMIT:-$((INTERVAL * 5))}
MODES=${MODES:-wait poll}
PERF=${PERF:-0}
PERF_OUT=${PERF_OUT:-/tmp/ocs-convergence-perf.txt}
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
metric() { curl -s "$1/metrics" | awk -v name="$2" '$1 == name {print int($2)}'; }
work=; server=; simulator=
cleanup() { kill $simulator $server 2>/dev/null || true; wait 2>/dev/null || true; [ -n "$work" ] && rm -rf "$work"; work=; server=; simulator=; }
trap cleanup EXIT

run() { # mode
    local mode=$1 base token
    work=$(mktemp -d)
    # Every simulated host polls from 127.0.0.1 without enrolling: such check-ins are recorded
    # (--check-ins any) and the limits on new hosts are lifted.
    "$OCS" serve --host 127.0.0.1 --port 0 --db "$work/ocs.sqlite" --rules Rules --access-log off --log-level warning \
        --check-ins any --max-hosts 10000000 --new-hosts-per-address 1000000 >"$work/out" 2>"$work/log" &
    server=$!
    for _ in $(seq 300); do grep -q '^listening on' "$work/out" 2>/dev/null && break; sleep 0.1; done
    base=$(sed -n 's/^listening on //p' "$work/out" | head -1)
    [ -n "$base" ] || { echo "the server did not start:"; cat "$work/log"; return 1; }
    token=$("$OCS" tokens create --name bench --role reader --db "$work/ocs.sqlite")
    local rss_empty; rss_empty=$(rss_kb "$server")

    local arguments=(--interval "${INTERVAL}s") warmup=$((INTERVAL + INTERVAL / 6 + 5))
    if [ "$mode" = wait ]; then arguments=(--interval "${SPREAD}s" --wait "$WAIT"); warmup=$((SPREAD + 5)); fi
    local duration=$((warmup + IDLE + LIMIT + 30))
    "$OCS" simulate --server "$base" --cert "$work/dev-signing-cert.pem" --hosts "$HOSTS" "${arguments[@]}" \
        --duration "${duration}s" --seed 1 --progress 10 --json >"$work/simulation.json" 2>"$work/progress" &
    simulator=$!
    echo "[$mode] $HOSTS simulated hosts on $base (${arguments[*]}); warming up ${warmup}s"
    sleep "$warmup"
    if [ "$mode" = wait ]; then
        for _ in $(seq 100); do [ "$(metric "$base" ocs_held_polls)" -ge "$HOSTS" ] && break; sleep 0.2; done
    fi
    local held; held=$(metric "$base" ocs_held_polls)
    local idle_cpu0 idle_rss; idle_cpu0=$(cpu "$server"); sleep "$IDLE"
    local idle_cpu; idle_cpu=$(echo "scale=1; ($(cpu "$server") - $idle_cpu0) * 100 / $ticks / $IDLE" | bc)
    idle_rss=$(rss_kb "$server")

    cat >"$work/CONV1.yaml" <<'YAML'
id: CONV1
description: Benchmark rule for every build - disable an app pool.
state: published
actions:
  - type: DisableAppPool
    appPool: MSExchangeBenchmarkAppPool
YAML
    local perf=
    if [ "$PERF" = 1 ] && [ "$mode" = wait ]; then
        perf record -F 999 -g -p "$server" -o "$work/perf.data" -- sleep 15 >/dev/null 2>&1 &
        perf=$!
    fi
    local cpu0 sim0 max_rss published; cpu0=$(cpu "$server"); sim0=$(cpu "$simulator"); max_rss=$idle_rss
    published=$(date +%s.%N)
    "$OCS" rules import "$work/CONV1.yaml" --publish --everyone --db "$work/ocs.sqlite" >/dev/null
    local at95= at100= last="0 0 0" now elapsed share
    while :; do
        now=$(date +%s.%N); elapsed=$(echo "$now - $published" | bc)
        local rss; rss=$(rss_kb "$server"); [ "$rss" -gt "$max_rss" ] && max_rss=$rss
        share=$(curl -s -H "Authorization: Bearer $token" "$base/api/v1/rules/CONV1/coverage" |
            python3 -c 'import json,sys; h=json.load(sys.stdin)["hosts"]; print("%.4f %d %d" % (h["applied"]/max(1,h["inScope"]), h["applied"], h["inScope"]))' 2>/dev/null || echo "0 0 0")
        last=$share
        set -- $share
        if [ "$3" -ge "$HOSTS" ]; then
            [ -z "$at95" ] && [ "$(echo "$1 >= 0.95" | bc)" = 1 ] && at95=$elapsed
            [ "$2" -ge "$3" ] && { at100=$elapsed; break; }
        fi
        [ "$(echo "$elapsed > $LIMIT" | bc)" = 1 ] && break
        sleep 0.2
    done
    local window; window=$(echo "$(date +%s.%N) - $published" | bc)
    local busy; busy=$(echo "scale=1; ($(cpu "$server") - $cpu0) * 100 / $ticks / $window" | bc)
    local sim_busy; sim_busy=$(echo "scale=1; ($(cpu "$simulator") - $sim0) * 100 / $ticks / $window" | bc)
    set -- $last
    seconds() { if [ -n "$1" ]; then printf '%.2f s' "$1"; else printf 'not within %s s' "$LIMIT"; fi; }
    printf '[%s] 95%% of in-scope hosts applied after %s, 100%% after %s (%s of %s)\n' "$mode" \
        "$(seconds "$at95")" "$(seconds "$at100")" "$2" "$3"
    printf '[%s] server idle with the fleet (%s held polls): CPU %s%% of one core, RSS %d MB (empty %d MB)' "$mode" \
        "${held:-0}" "$idle_cpu" $((idle_rss / 1024)) $((rss_empty / 1024))
    if [ "${held:-0}" -gt 0 ]; then
        printf ', %.1f KB per held poll' "$(echo "($idle_rss - $rss_empty) / $held" | bc -l)"
    fi
    echo
    echo "[$mode] during convergence (average over ${window%.*} s): server CPU ${busy}% of one core, RSS max $((max_rss / 1024)) MB; simulator CPU ${sim_busy}%"
    if [ -n "$perf" ]; then
        wait "$perf" 2>/dev/null || true
        perf report -i "$work/perf.data" --no-children --sort symbol --stdio 2>/dev/null | grep -v '^#' | grep '%' | head -40 >"$PERF_OUT" || true
        echo "[$mode] perf profile of the server during convergence: $PERF_OUT"
    fi
    tail -n 1 "$work/progress" | sed "s/^/[$mode] simulator: /"
    cleanup
}

for mode in $MODES; do run "$mode"; done
