#!/usr/bin/env bash
# Time from publishing a rule to 95% of in-scope hosts applied, with HOSTS simulated EM agents
# (10,000 by default) polling every INTERVAL (60s) through `ocs simulate`, and the server's CPU and
# RSS meanwhile. The fleet warms up for WARMUP seconds (an interval and a bit) so every host has
# polled, then a rule for every build is published; coverage is read from GET /api/v1/rules/{id}/coverage
# once a second. The floor is about two intervals: one to receive the rule, one to report it.
# Usage: bash Benchmarks/convergence.sh [path/to/ocs]    (HOSTS, INTERVAL, WARMUP, LIMIT, TARGET)
set -euo pipefail
cd "$(dirname "$0")/.."
OCS=${1:-.build/debug/ocs}
HOSTS=${HOSTS:-10000}
INTERVAL=${INTERVAL:-60}        # seconds
WARMUP=${WARMUP:-$((INTERVAL + INTERVAL / 6 + 5))}
LIMIT=${LIMIT:-$((INTERVAL * 5))}   # give up after this many seconds from publishing
TARGET=${TARGET:-0.95}
work=$(mktemp -d)
server=; simulator=
trap 'kill $simulator $server 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

# Every simulated host polls from 127.0.0.1 without enrolling: such check-ins are recorded
# (--check-ins any) and the limits on new hosts are lifted.
"$OCS" serve --host 127.0.0.1 --port 0 --db "$work/ocs.sqlite" --rules Rules --access-log off \
    --check-ins any --max-hosts 10000000 --new-hosts-per-address 1000000 >"$work/out" 2>"$work/log" &
server=$!
for _ in $(seq 300); do grep -q '^listening on' "$work/out" 2>/dev/null && break; sleep 0.1; done
base=$(sed -n 's/^listening on //p' "$work/out" | head -1)
[ -n "$base" ] || { echo "the server did not start:"; cat "$work/log"; exit 1; }
token=$("$OCS" tokens create --name bench --role reader --db "$work/ocs.sqlite")

ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

duration=$((WARMUP + LIMIT + INTERVAL))
"$OCS" simulate --server "$base" --cert "$work/dev-signing-cert.pem" --hosts "$HOSTS" --interval "${INTERVAL}s" \
    --duration "${duration}s" --seed 1 --progress "$INTERVAL" --json >"$work/simulation.json" 2>"$work/progress" &
simulator=$!
echo "$HOSTS simulated hosts polling $base every ${INTERVAL}s; warming up ${WARMUP}s"
sleep "$WARMUP"

cat >"$work/CONV1.yaml" <<'YAML'
id: CONV1
description: Benchmark rule for every build - disable an app pool.
state: published
actions:
  - type: DisableAppPool
    appPool: MSExchangeBenchmarkAppPool
YAML
server_cpu0=$(cpu "$server"); sim_cpu0=$(cpu "$simulator"); max_rss=$(rss_kb "$server")
published=$(date +%s.%N)
"$OCS" rules import "$work/CONV1.yaml" --publish --everyone --db "$work/ocs.sqlite" >/dev/null
echo "published CONV1"
reached=
while :; do
    now=$(date +%s.%N)
    elapsed=$(echo "$now - $published" | bc)
    rss=$(rss_kb "$server"); [ "$rss" -gt "$max_rss" ] && max_rss=$rss
    share=$(curl -s -H "Authorization: Bearer $token" "$base/api/v1/rules/CONV1/coverage" |
        python3 -c 'import json,sys; h=json.load(sys.stdin)["hosts"]; print("%.4f %d %d" % (h["applied"]/max(1,h["inScope"]), h["applied"], h["inScope"]))' 2>/dev/null || echo "0 0 0")
    set -- $share
    if [ "$(echo "$1 >= $TARGET" | bc)" = 1 ] && [ "$3" -ge "$HOSTS" ]; then reached=$elapsed; break; fi
    [ "$(echo "$elapsed > $LIMIT" | bc)" = 1 ] && break
    sleep 1
done
window=$(echo "$(date +%s.%N) - $published" | bc)
server_cpu=$(echo "scale=1; ($(cpu "$server") - $server_cpu0) * 100 / $ticks / $window" | bc)
sim_cpu=$(echo "scale=1; ($(cpu "$simulator") - $sim_cpu0) * 100 / $ticks / $window" | bc)
if [ -n "$reached" ]; then
    printf 'time from publishing to %s%% of in-scope hosts applied: %.1f s (%.2f intervals; %s of %s hosts)\n' \
        "$(echo "$TARGET * 100" | bc | cut -d. -f1)" "$reached" "$(echo "$reached / $INTERVAL" | bc -l)" "$2" "$3"
else
    echo "not reached within ${LIMIT}s: last coverage $2 of $3 in scope applied"
fi
echo "server during convergence: CPU ${server_cpu}% of one core (average), RSS max $((max_rss / 1024)) MB"
echo "simulator during convergence: CPU ${sim_cpu}% of one core (average)"
kill -INT "$simulator" 2>/dev/null || true
tail -n 3 "$work/progress"
