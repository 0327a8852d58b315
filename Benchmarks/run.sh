#!/usr/bin/env bash
# Throughput of ocs against two references serving the same bytes, measured in one run on this
# machine: nginx (a static file) and a plain SwiftNIO server with ocs's pipeline
# (Benchmarks/PlainNIOServer), which separates the stack's cost from ocs's own.
#
#   bash Benchmarks/run.sh            # ROUNDS=3 DURATION=10 CONNECTIONS=64 THREADS=2 by default
#   OCS=path/to/ocs PLAIN=path/to/PlainNIOServer bash Benchmarks/run.sh   # binaries already built
#   ACCESS_LOG=file bash Benchmarks/run.sh   # ocs writes its access log to a file (default: off, as nginx here)
#
# Builds ocs and the plain server in release, starts ocs on a temporary database, saves the
# exact document a 2019 CU14 host receives, serves those bytes from nginx (keep-alive, static
# file) and from the plain server, then drives the three in turn with wrk, alternating rounds,
# for three cases: anonymous polls (build only), identified polls from a new host each (a
# distinct serverId per request) and identified polls from RETURNING_HOSTS hosts per wrk thread
# polling in turn, each identified poll a durable check-in. Prints the requests/s medians and the
# ocs/nginx, ocs/plain-NIO and plain-NIO/nginx ratios, and writes them to Benchmarks/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source Benchmarks/measure.sh

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
# nginx runs with `access_log off`; ocs does the same work unless ACCESS_LOG=file.
ACCESS_LOG=${ACCESS_LOG:-off}
THREADS=${THREADS:-2}
# The returning case: this many hosts per wrk thread poll in turn (a fleet's steady state).
RETURNING_HOSTS=${RETURNING_HOSTS:-5000}
BUILD=15.2.1544.4   # Exchange 2019 CU14

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx-light)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# OCS and PLAIN name binaries already built in release; otherwise they are built here.
if [ -z "${OCS:-}" ]; then
    swift build -c release --product ocs
    OCS="$(swift build -c release --show-bin-path)/ocs"
fi
if [ -z "${PLAIN:-}" ]; then
    swift build -c release --package-path Benchmarks/PlainNIOServer
    PLAIN="$(swift build -c release --package-path Benchmarks/PlainNIOServer --show-bin-path)/PlainNIOServer"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ocs-bench.XXXXXX")
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# ocs on an ephemeral port; the port comes from its "listening on" line.
case "$ACCESS_LOG" in
    off) access_log=off ;;
    file) access_log="$work/access.log" ;;
    *) echo "ACCESS_LOG must be off or file" >&2; exit 2 ;;
esac
# The identified rounds measure recording check-ins of hosts that poll as curl does (wrk sends no
# credential), so they are recorded (--check-ins any) and the limits on new hosts are lifted.
"$OCS" serve --host 127.0.0.1 --port 0 --db "$work/ocs.sqlite" --rules Rules --log-level error --access-log "$access_log" \
    --check-ins any --max-hosts 10000000 --new-hosts-per-address 1000000 > "$work/ocs.out" 2> "$work/ocs.err" &
pids+=($!)
ocs_pid=$!
for _ in $(seq 1 100); do grep -q "listening on" "$work/ocs.out" 2>/dev/null && break; sleep 0.1; done
ocs_port=$(sed -n 's/^listening on http:\/\/127.0.0.1:\([0-9]*\)$/\1/p' "$work/ocs.out")
[ -n "$ocs_port" ] || { cat "$work/ocs.err"; echo "ocs did not start" >&2; exit 1; }

# The reference: nginx serving the exact bytes a 2019 CU14 host receives.
mkdir -p "$work/www"
curl -sf "http://127.0.0.1:$ocs_port/getexchangemitigations?build=$BUILD" -o "$work/www/getexchangemitigations"
# nginx workers drop to an unprivileged user: let them read the document.
chmod a+rx "$work" "$work/www"
chmod a+r "$work/www/getexchangemitigations"
nginx_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
daemon on;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    client_body_temp_path $work/nginx-tmp;
    proxy_temp_path $work/nginx-tmp;
    fastcgi_temp_path $work/nginx-tmp;
    uwsgi_temp_path $work/nginx-tmp;
    scgi_temp_path $work/nginx-tmp;
    server {
        listen 127.0.0.1:$nginx_port;
        root $work/www;
        location = /getexchangemitigations { default_type "application/xml; charset=utf-8"; }
    }
}
CONF
mkdir -p "$work/nginx-tmp"
"$NGINX" -c "$work/nginx.conf" -e "$work/nginx-error.log" 2>/dev/null || "$NGINX" -c "$work/nginx.conf"
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$nginx_port/getexchangemitigations" -o /dev/null && break; sleep 0.1; done
cmp <(curl -sf "http://127.0.0.1:$nginx_port/getexchangemitigations") "$work/www/getexchangemitigations"

# The plain SwiftNIO server with the same bytes.
"$PLAIN" "$work/www/getexchangemitigations" > "$work/plain.out" &
pids+=($!)
plain_pid=$!
for _ in $(seq 1 100); do grep -q "listening on" "$work/plain.out" 2>/dev/null && break; sleep 0.1; done
plain_port=$(sed -n 's/^listening on http:\/\/127.0.0.1:\([0-9]*\)$/\1/p' "$work/plain.out")
cmp <(curl -sf "http://127.0.0.1:$plain_port/getexchangemitigations") "$work/www/getexchangemitigations"

# CPU time (utime + stime, clock ticks) of a server's processes: nginx's master and workers.
server_pids() { # server
    case "$1" in
        ocs) echo "$ocs_pid" ;;
        plain) echo "$plain_pid" ;;
        nginx) local master; master=$(cat "$work/nginx.pid"); echo "$master" $(ps -o pid= --ppid "$master") ;;
    esac
}
# Requests/s, and the server's CPU per request in µs, which other load on the machine disturbs
# less than requests/s: "RATE CPU".
rate() { # server url [lua script hosts-per-wrk-thread run]
    local args=(-t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency)
    [ -n "${3:-}" ] && args+=(-s "$3" "$2" -- "$BUILD" "$4" "$5") || args+=("$2")
    local pids before after out
    pids=$(server_pids "$1")
    before=$(cpu_ticks $pids)
    out=$(wrk "${args[@]}")
    after=$(cpu_ticks $pids)
    awk -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" '
        /requests in/ {requests = $1}
        /^Requests\/sec:/ {rate = $2}
        END {printf "%s %.1f\n", rate, ticks * 1000000 / hz / requests}' <<< "$out"
}

declare -A results
servers=(ocs nginx plain)
declare -A ports=([ocs]=$ocs_port [nginx]=$nginx_port [plain]=$plain_port)
for case in anonymous identified returning; do
    declare -A rates=() cpus=()
    # The returning hosts' first polls insert them: made once before the rounds, so every round
    # measures repeats.
    [ "$case" = returning ] && rate ocs "http://127.0.0.1:$ocs_port" Benchmarks/identified.lua "$RETURNING_HOSTS" 65535 > /dev/null
    for round in $(seq 1 "$ROUNDS"); do
        line="$case round $round:"
        for server in "${servers[@]}"; do
            case "$case" in
                anonymous) read -r r c < <(rate "$server" "http://127.0.0.1:${ports[$server]}/getexchangemitigations?build=$BUILD") ;;
                # A run number of its own for each round's new hosts; one for all returning rounds.
                identified) read -r r c < <(rate "$server" "http://127.0.0.1:${ports[$server]}" Benchmarks/identified.lua 0 "$round") ;;
                returning) read -r r c < <(rate "$server" "http://127.0.0.1:${ports[$server]}" Benchmarks/identified.lua "$RETURNING_HOSTS" 65535) ;;
            esac
            rates[$server]+=" $r"
            cpus[$server]+=" $c"
            line+=" $server $r req/s ${c} µs"
        done
        echo "$line"
    done
    for server in "${servers[@]}"; do
        results[$case.$server]=$(echo "${rates[$server]}" | median)
        results[$case.$server.cpu]=$(echo "${cpus[$server]}" | median)
    done
    results[$case.cpuratio]=$(awk -v o="${results[$case.ocs.cpu]}" -v p="${results[$case.plain.cpu]}" 'BEGIN {printf "%.2f", p/o}')
    results[$case.ratio]=$(awk -v o="${results[$case.ocs]}" -v n="${results[$case.nginx]}" 'BEGIN {printf "%.2f", o/n}')
    # The stack's ceiling: how close SwiftNIO's pipeline serving fixed bytes comes to nginx.
    results[$case.ceiling]=$(awk -v p="${results[$case.plain]}" -v n="${results[$case.nginx]}" 'BEGIN {printf "%.2f", p/n}')
    results[$case.plainratio]=$(awk -v o="${results[$case.ocs]}" -v n="${results[$case.plain]}" 'BEGIN {printf "%.2f", o/n}')
    results[$case.rounds]="ocs:${rates[ocs]}; nginx:${rates[nginx]}; plain NIO:${rates[plain]}"
    unset rates cpus
done
# gzip: ocs serves the body it gzipped once when it signed the feed.
gzip_rates=""
for round in $(seq 1 "$ROUNDS"); do
    gzip_rates+=" $(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -H 'Accept-Encoding: gzip' "http://127.0.0.1:$ocs_port/getexchangemitigations?build=$BUILD" | awk '/^Requests\/sec:/ {print $2}')"
done
results[gzip.ocs]=$(echo "$gzip_rates" | median)
gzip_bytes=$(curl -s -H 'Accept-Encoding: gzip' "http://127.0.0.1:$ocs_port/getexchangemitigations?build=$BUILD" | wc -c)

checkins=$("$OCS" hosts --json --db "$work/ocs.sqlite" | grep -c '"pollCount"' || true)
bytes=$(wc -c < "$work/www/getexchangemitigations")

report=$(cat <<REPORT
# Benchmark results

\`bash Benchmarks/run.sh\` on $(date -u +%Y-%m-%d): wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, $ROUNDS alternating rounds per case,
median requests/s. The references serve the same $bytes bytes (the signed feed of an Exchange 2019
CU14 host) with keep-alive, started and measured in the same run: nginx as a static file, and
plain NIO (\`Benchmarks/PlainNIOServer\`: SwiftNIO with the handlers ocs installs, writing fixed bytes).

| case | ocs req/s | nginx req/s | plain NIO req/s | ocs/nginx | ocs/plain NIO | plain NIO/nginx | target |
|---|---|---|---|---|---|---|---|
| anonymous polls (\`build\` only) | ${results[anonymous.ocs]} | ${results[anonymous.nginx]} | ${results[anonymous.plain]} | ${results[anonymous.ratio]} | ${results[anonymous.plainratio]} | ${results[anonymous.ceiling]} | 0.8 nginx, 0.95 plain NIO |
| identified polls, a new host each (durable check-in each) | ${results[identified.ocs]} | ${results[identified.nginx]} | ${results[identified.plain]} | ${results[identified.ratio]} | ${results[identified.plainratio]} | ${results[identified.ceiling]} | 0.5 nginx |
| identified polls, $((RETURNING_HOSTS * THREADS)) hosts polling in turn (durable check-in each) | ${results[returning.ocs]} | ${results[returning.nginx]} | ${results[returning.plain]} | ${results[returning.ratio]} | ${results[returning.plainratio]} | ${results[returning.ceiling]} | 0.5 nginx |
| anonymous polls, \`Accept-Encoding: gzip\` ($gzip_bytes bytes) | ${results[gzip.ocs]} | | | | | | |

plain NIO/nginx is the stack's ceiling in this run: SwiftNIO's HTTP/1.1 pipeline with ocs's handlers,
serving the same bytes from memory and doing nothing else, against nginx.

Server CPU per request (utime + stime of its processes over each round / requests served, median
µs; less disturbed by other load than requests/s):

| case | ocs | nginx | plain NIO | plain NIO/ocs |
|---|---|---|---|---|
| anonymous polls | ${results[anonymous.ocs.cpu]} | ${results[anonymous.nginx.cpu]} | ${results[anonymous.plain.cpu]} | ${results[anonymous.cpuratio]} |
| identified polls, new hosts | ${results[identified.ocs.cpu]} | ${results[identified.nginx.cpu]} | ${results[identified.plain.cpu]} | ${results[identified.cpuratio]} |
| identified polls, returning hosts | ${results[returning.ocs.cpu]} | ${results[returning.nginx.cpu]} | ${results[returning.plain.cpu]} | ${results[returning.cpuratio]} |

Rounds (req/s): anonymous ${results[anonymous.rounds]}; identified ${results[identified.rounds]}; returning ${results[returning.rounds]}; gzip ocs:$gzip_rates.
The references ignore the query string: for them the identified cases are the anonymous one again.
Hosts recorded by the identified rounds: $checkins.

Machine: $(nproc) cores ($(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)), $(free -g | awk '/^Mem:/ {print $2}') GiB memory,
Linux $(uname -r); $(swift --version 2>&1 | head -1); nginx $("$NGINX" -v 2>&1 | sed 's/.*\///'); $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2).
wrk, nginx and ocs share the same cores, as they would on a small appliance.
Access logs: nginx off; ocs $ACCESS_LOG (\`ACCESS_LOG=off|file\`).
REPORT
)
echo
echo "$report"
# The throughput part of RESULTS.md is replaced; the sections after it (the fleet) are kept.
kept=$(sed -n '/^## The fleet at/,$p' Benchmarks/RESULTS.md 2>/dev/null || true)
{ echo "$report"; [ -n "$kept" ] && printf '\n%s\n' "$kept"; } > Benchmarks/RESULTS.md
