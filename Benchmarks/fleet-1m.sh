#!/usr/bin/env bash
# The fleet at scale: fills a database with HOSTS hosts (1,000,000 by default) on the catalog's
# builds, in one SQL transaction, then measures the release binary on it:
#   - database size, and bytes per host;
#   - cold start: from launching `ocs serve` to the first served poll;
#   - GET /api/v1/hosts?limit=100: p50/p99 over REQUESTS (500) pages, each following the
#     previous page's cursor, on one keep-alive connection;
#   - GET /api/v1/rules/M1/coverage, GET /api/v1/fleet and other list calls (curl's %{time_total});
#   - the dashboard's overview and its list of exposed hosts, signed in through the form;
#   - the server's RSS (VmRSS) and peak RSS (VmHWM) while serving them.
# Usage: bash Benchmarks/fleet-1m.sh [path/to/ocs]     (HOSTS=100000 for the smaller fleet)
set -euo pipefail
cd "$(dirname "$0")/.."
OCS=${1:-$(swift build -c release --show-bin-path)/ocs}
HOSTS=${HOSTS:-1000000}
REQUESTS=${REQUESTS:-500}
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$work"' EXIT
db=$work/ocs.sqlite

# Only `ocs serve` creates a database: start it once (it imports Rules into the empty one).
"$OCS" serve --port 0 --db "$db" --rules Rules --check-ins any --max-hosts 10000000 >"$work/out" 2>"$work/log" &
server=$!
for _ in $(seq 100); do grep -q '^listening on' "$work/out" 2>/dev/null && break; sleep 0.1; done
kill $server; wait $server 2>/dev/null || true
server=""
token=$("$OCS" tokens create --name bench --role reader --db "$db")

# Realistic builds: every Exchange build in the catalog, each host on one of them; 1% report none.
# States vary: a third lacks M1, 2% block it, 5% have mitigations disabled, last seen over 5 hours.
builds=$(tail -n +2 Sources/OCSDomain/Catalog/exchange-builds.csv | cut -d, -f4 | sort -u | awk '{printf "%s(%d,'"'"'%s'"'"')", (NR>1?",":""), NR-1, $0}')
count=$(tail -n +2 Sources/OCSDomain/Catalog/exchange-builds.csv | cut -d, -f4 | sort -u | wc -l)
start=$(date +%s.%N)
sqlite3 "$db" <<SQL
PRAGMA cache_size = -262144;
BEGIN;
CREATE TEMP TABLE catalog_builds (n INTEGER PRIMARY KEY, build TEXT);
INSERT INTO catalog_builds VALUES $builds;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $HOSTS)
INSERT INTO hosts (server_id, server_name, build, org_id, applied, blocked, mitigations_enabled,
    data_collection_enabled, remote_address, user_agent, first_seen, last_seen, poll_count)
SELECT printf('%08x-0000-4000-8000-%012d', i, i), printf('EX-%07d', i),
    CASE WHEN i % 100 = 0 THEN NULL ELSE (SELECT build FROM catalog_builds WHERE n = (i * 7919) % $count) END,
    NULL,
    CASE WHEN i % 3 = 0 THEN '["PING1"]' ELSE '["PING1","M1"]' END,
    CASE WHEN i % 50 = 0 THEN '["M1"]' ELSE '[]' END,
    i % 20 <> 0, 1, '10.' || (i / 65536 % 256) || '.' || (i / 256 % 256) || '.' || (i % 256), 'Microsoft Exchange EEMS',
    strftime('%Y-%m-%d %H:%M:%f', 'now', '-30 days'),
    strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || (i % 300) || ' minutes'),
    720
FROM n;
INSERT INTO host_history (host_id, changed_at, server_id, server_name, build, org_id, applied, blocked,
    mitigations_enabled, data_collection_enabled, remote_address, user_agent)
SELECT id, first_seen, server_id, server_name, build, org_id, applied, blocked, mitigations_enabled,
    data_collection_enabled, remote_address, user_agent FROM hosts;
COMMIT;
SQL
printf 'filled %d hosts in %.1f s\n' "$HOSTS" "$(echo "$(date +%s.%N) - $start" | bc)"
sqlite3 "$db" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
size=$(stat -c %s "$db")
printf 'database: %s bytes (%s), %d bytes per host (with one history entry each)\n' "$size" "$(du -h "$db" | cut -f1)" $((size / HOSTS))

# Cold start: the page cache is warm (the fill just wrote the file), the process is not.
start=$(date +%s%N)
"$OCS" serve --port 0 --db "$db" --rules Rules --check-ins any --max-hosts 10000000 >"$work/out" 2>"$work/log" &
server=$!
base=""
for _ in $(seq 2000); do
    [ -z "$base" ] && base=$(sed -n 's/^listening on //p' "$work/out" 2>/dev/null)
    [ -n "$base" ] && curl -sf -o /dev/null "$base/getexchangemitigations?build=15.2.1544.4" && break
    sleep 0.005
done
printf 'cold start to the first served poll: %d ms\n' $(( ($(date +%s%N) - start) / 1000000 ))
rss() { awk '/VmRSS/ {r=$2} /VmHWM/ {h=$2} END {printf "%d MB (peak %d MB)", r/1024, h/1024}' /proc/$server/status; }
echo "RSS after start: $(rss)"

# Pages of 100 hosts, each following the last one's cursor, on one keep-alive connection.
python3 - "$base" "$token" "$REQUESTS" <<'PY'
import http.client, json, sys, time, urllib.parse
base, token, requests = sys.argv[1], sys.argv[2], int(sys.argv[3])
url = urllib.parse.urlparse(base)
connection = http.client.HTTPConnection(url.hostname, url.port)
times, cursor = [], None
for _ in range(requests):
    path = "/api/v1/hosts?limit=100" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
    started = time.perf_counter()
    connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    body = response.read()
    times.append((time.perf_counter() - started) * 1000)
    assert response.status == 200, (response.status, body[:200])
    cursor = json.loads(body)["next"]
times.sort()
pick = lambda q: times[min(len(times) - 1, int(q * len(times)))]
print(f"GET /api/v1/hosts?limit=100, {len(times)} pages by cursor: p50 {pick(0.5):.2f} ms, p99 {pick(0.99):.2f} ms, max {times[-1]:.2f} ms")
PY
call() { curl -s -o "$work/body" -w '%{time_total}' -H "Authorization: Bearer $token" "$base/api/v1$1"; }
for i in 1 2 3; do echo "GET /api/v1/fleet #$i: $(call /fleet) s"; done
for i in 1 2 3; do echo "GET /api/v1/rules/M1/coverage #$i: $(call /rules/M1/coverage) s"; done
echo "GET /api/v1/rules/M1/coverage?state=exposed&limit=100: $(call '/rules/M1/coverage?state=exposed&limit=100') s"
echo "GET /api/v1/hosts?stale=true&limit=100: $(call '/hosts?stale=true&limit=100') s"
echo "GET /api/v1/rules/M1/impact: $(call /rules/M1/impact) s"
# The dashboard's overview (its exposed headline counts the hosts exposed to any published rule)
# and the exposed list, signed in through the form as a browser is.
login=$(curl -s -D "$work/login-headers" "$base/ui/login")
signin=$(sed -n 's/^[Ss]et-[Cc]ookie: \(ocs_signin=[^;]*\).*/\1/p' "$work/login-headers" | tr -d '\r')
csrf=$(printf '%s' "$login" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
session=$(curl -s -D - -o /dev/null -H "Cookie: $signin" --data-urlencode "csrf=$csrf" --data-urlencode "token=$token" "$base/ui/login" \
    | sed -n 's/^[Ss]et-[Cc]ookie: \(ocs_session=[^;]*\).*/\1/p' | tr -d '\r')
page() { curl -s -o "$work/body" -w '%{time_total}' -H "Cookie: $session" "$base$1"; }
if [ -n "$session" ]; then
    for i in 1 2 3; do echo "GET /ui/ (overview) #$i: $(page /ui/) s"; done
    echo "GET /ui/exposed (first page): $(page /ui/exposed) s"
else
    echo "dashboard: could not sign in; overview not measured"
fi
echo "RSS at the end: $(rss)"
