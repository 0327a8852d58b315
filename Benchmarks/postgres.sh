#!/usr/bin/env bash
# Identified polls (a durable check-in each) on PostgreSQL against SQLite, measured in one run on
# this machine, and three replicas on one PostgreSQL database together.
#
#   bash Benchmarks/postgres.sh                  # ROUNDS=3 DURATION=10 CONNECTIONS=64 THREADS=2
#   OCS=path/to/ocs bash Benchmarks/postgres.sh  # a release binary already built
#
# Starts a throwaway PostgreSQL cluster (scripts/postgres-cluster.sh, fsync on: its commits are as
# durable as SQLite's synchronous=FULL ones), ocs on an SQLite file and three ocs replicas on one
# PostgreSQL database, all with one signing key. Drives them with wrk and Benchmarks/identified.lua
# in alternating rounds: SQLite, one replica, then the three replicas at once (one wrk each, the
# connections split between them). Two cases: a new host per request, and RETURNING_HOSTS hosts per
# wrk thread polling in turn. Reports median requests/s, the PostgreSQL/SQLite ratio, and the CPU
# per request of ocs and of PostgreSQL, which says what bounds each. Writes the "PostgreSQL" section
# of Benchmarks/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source Benchmarks/measure.sh

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
RETURNING_HOSTS=${RETURNING_HOSTS:-5000}
BUILD=15.2.1544.4   # Exchange 2019 CU14

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v curl >/dev/null || need+=(curl)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
if [ -z "${OCS:-}" ]; then
    swift build -c release --product ocs
    OCS="$(swift build -c release --show-bin-path)/ocs"
fi

# In /tmp: the PostgreSQL server runs as the postgres user when this runs as root.
work=$(mktemp -d /tmp/ocs-pgbench.XXXXXX)
chmod 755 "$work"
mkdir "$work/pg"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    bash scripts/postgres-cluster.sh stop "$work/pg" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
url=$(OCS_POSTGRES_FSYNC=on bash scripts/postgres-cluster.sh start "$work/pg" | sed -n 's/^OCS_TEST_POSTGRES_URL=//p')
"$OCS" keys init --dir "$work/keys" >/dev/null

declare -A ports serverpids
start_ocs() { # name database
    "$OCS" serve --host 127.0.0.1 --port 0 --db "$2" --rules Rules --log-level error --access-log off \
        --check-ins any --max-hosts 10000000 --new-hosts-per-address 1000000 \
        --signing-key "$work/keys/signing-key.pem" --signing-cert "$work/keys/signing-cert.pem" > "$work/$1.out" 2> "$work/$1.err" &
    pids+=($!)
    serverpids[$1]=$!
    for _ in $(seq 1 100); do grep -q "listening on" "$work/$1.out" 2>/dev/null && break; sleep 0.1; done
    ports[$1]=$(sed -n 's/^listening on http:\/\/127.0.0.1:\([0-9]*\)$/\1/p' "$work/$1.out")
    [ -n "${ports[$1]}" ] || { cat "$work/$1.err"; echo "ocs ($1) did not start" >&2; exit 1; }
}
start_ocs sqlite "$work/ocs.sqlite"
for replica in 1 2 3; do start_ocs "pg$replica" "$url"; done
# Same key, same rules, same serial: every server serves the same bytes.
for server in pg1 pg2 pg3; do
    cmp <(curl -sf "http://127.0.0.1:${ports[sqlite]}/getexchangemitigations?build=$BUILD") \
        <(curl -sf "http://127.0.0.1:${ports[$server]}/getexchangemitigations?build=$BUILD") >/dev/null \
        || echo "note: $server serves other bytes than the SQLite server (issued differs: each database imported the rules at its own time)"
done

postgres_pids() {
    local master; master=$(head -n 1 "$work/pg/data/postmaster.pid")
    echo "$master" $(ps -o pid= --ppid "$master")
}
hz=$(getconf CLK_TCK)

# One measurement: wrk on each of the given servers at once (the connections and threads split
# between them). Prints "REQUESTS/S OCS-µs/REQUEST POSTGRES-µs/REQUEST".
measure() { # hosts-per-thread run server...
    local hosts=$1 run=$2; shift 2
    local threads=$(( THREADS / $# > 0 ? THREADS / $# : 1 )) connections=$(( CONNECTIONS / $# ))
    local ocs_before pg_before ocs_after pg_after server out=() outputs
    local ocs_list=() pg_list
    for server in "$@"; do ocs_list+=("${serverpids[$server]}"); done
    pg_list=$(postgres_pids)
    ocs_before=$(cpu_ticks "${ocs_list[@]}"); pg_before=$(cpu_ticks $pg_list)
    outputs=()
    # New hosts: each wrk a run number of its own (its threads number from 1 again), so no two
    # send the same host. Returning hosts: the same run, so the same hosts reach every replica.
    local offset=0
    for server in "$@"; do
        wrk -t"$threads" -c"$connections" -d"${DURATION}s" -s Benchmarks/identified.lua "http://127.0.0.1:${ports[$server]}" -- "$BUILD" "$hosts" "$((run + offset))" > "$work/wrk.$server" &
        outputs+=($!)
        [ "$hosts" -eq 0 ] && offset=$((offset + 1))
    done
    wait "${outputs[@]}"
    ocs_after=$(cpu_ticks "${ocs_list[@]}"); pg_after=$(cpu_ticks $(postgres_pids))
    local uses_postgres=1
    [ "$1" = sqlite ] && uses_postgres=0
    cat $(for server in "$@"; do echo "$work/wrk.$server"; done) | awk -v o=$((ocs_after - ocs_before)) -v p=$((pg_after - pg_before)) -v hz="$hz" -v pg="$uses_postgres" '
        /requests in/ {requests += $1}
        /^Requests\/sec:/ {rate += $2}
        END {printf "%.2f %.1f %.1f\n", rate, o * 1000000 / hz / requests, pg ? p * 1000000 / hz / requests : 0}'
}

declare -A results
setups=(sqlite one three)
for case in identified returning; do
    declare -A rates=() ocscpu=() pgcpu=()
    if [ "$case" = returning ]; then
        # The returning hosts' first polls insert them, once before the rounds, on each database.
        measure "$RETURNING_HOSTS" 65535 sqlite > /dev/null
        measure "$RETURNING_HOSTS" 65534 pg1 > /dev/null
    fi
    for round in $(seq 1 "$ROUNDS"); do
        line="$case round $round:"
        for setup in "${setups[@]}"; do
            # New hosts: a run number of their own per round and setup. Returning hosts: those
            # inserted before the rounds, the PostgreSQL ones reaching whichever replica.
            case "$case.$setup" in
                identified.sqlite) read -r r o p < <(measure 0 "$((round * 10))" sqlite) ;;
                identified.one) read -r r o p < <(measure 0 "$((round * 10 + 1))" pg1) ;;
                identified.three) read -r r o p < <(measure 0 "$((round * 10 + 2))" pg1 pg2 pg3) ;;
                returning.sqlite) read -r r o p < <(measure "$RETURNING_HOSTS" 65535 sqlite) ;;
                returning.one) read -r r o p < <(measure "$RETURNING_HOSTS" 65534 pg1) ;;
                returning.three) read -r r o p < <(measure "$RETURNING_HOSTS" 65534 pg1 pg2 pg3) ;;
            esac
            rates[$setup]+=" $r"; ocscpu[$setup]+=" $o"; pgcpu[$setup]+=" $p"
            line+=" $setup $r req/s (ocs ${o} µs, postgres ${p} µs)"
        done
        echo "$line"
    done
    for setup in "${setups[@]}"; do
        results[$case.$setup]=$(echo "${rates[$setup]}" | median)
        results[$case.$setup.ocs]=$(echo "${ocscpu[$setup]}" | median)
        results[$case.$setup.pg]=$(echo "${pgcpu[$setup]}" | median)
    done
    results[$case.ratio]=$(awk -v p="${results[$case.one]}" -v s="${results[$case.sqlite]}" 'BEGIN {printf "%.2f", p/s}')
    results[$case.threeratio]=$(awk -v p="${results[$case.three]}" -v s="${results[$case.sqlite]}" 'BEGIN {printf "%.2f", p/s}')
    results[$case.rounds]="SQLite:${rates[sqlite]}; one replica:${rates[one]}; three replicas:${rates[three]}"
    unset rates ocscpu pgcpu
done

report=$(cat <<REPORT
## PostgreSQL

\`bash Benchmarks/postgres.sh\` on $(date -u +%Y-%m-%d): identified polls (a durable check-in each) through
wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s and \`Benchmarks/identified.lua\`, $ROUNDS alternating rounds, median
requests/s. SQLite with \`synchronous=FULL\`; PostgreSQL $(ls -d /usr/lib/postgresql/*/ | sort -V | tail -n 1 | xargs basename) on the same machine
with fsync on and \`synchronous_commit=on\`, reached over loopback TCP. Three replicas: one wrk
each, the connections split between them, summed.

| case | SQLite | PostgreSQL, one replica | PostgreSQL, three replicas | one replica/SQLite | three replicas/SQLite |
|---|---|---|---|---|---|
| a new host each | ${results[identified.sqlite]} | ${results[identified.one]} | ${results[identified.three]} | ${results[identified.ratio]} | ${results[identified.threeratio]} |
| $((RETURNING_HOSTS * THREADS)) hosts polling in turn | ${results[returning.sqlite]} | ${results[returning.one]} | ${results[returning.three]} | ${results[returning.ratio]} | ${results[returning.threeratio]} |

CPU per request (utime + stime over each round / requests served, median µs), ocs and PostgreSQL:

| case | SQLite: ocs | one replica: ocs | one replica: PostgreSQL | three replicas: ocs | three replicas: PostgreSQL |
|---|---|---|---|---|---|
| a new host each | ${results[identified.sqlite.ocs]} | ${results[identified.one.ocs]} | ${results[identified.one.pg]} | ${results[identified.three.ocs]} | ${results[identified.three.pg]} |
| hosts polling in turn | ${results[returning.sqlite.ocs]} | ${results[returning.one.ocs]} | ${results[returning.one.pg]} | ${results[returning.three.ocs]} | ${results[returning.three.pg]} |

Rounds (req/s): a new host each ${results[identified.rounds]}; polling in turn ${results[returning.rounds]}.
Three replicas polled in turn: each wrk has one thread, so the hosts of the first thread ($RETURNING_HOSTS)
poll through every replica, as a fleet behind a load balancer does.
Machine: $(nproc) cores, shared by wrk, every ocs and PostgreSQL.
REPORT
)
echo
echo "$report"
# This section is replaced; the others are kept.
if [ -f Benchmarks/RESULTS.md ]; then
    awk '/^## PostgreSQL$/ {skip = 1; next} /^## / {skip = 0} !skip' Benchmarks/RESULTS.md > "$work/results.md"
else
    : > "$work/results.md"
fi
{ sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$work/results.md"; printf '\n%s\n' "$report"; } > Benchmarks/RESULTS.md
