#!/usr/bin/env bash
# Fills a database with HOSTS hosts (100,000 by default) in one SQL transaction, starts ocs on
# it and reports the database size, the time of GET /api/v1/fleet (curl's %{time_total}) and the
# server's RSS after a few fleet calls. Usage: bash Benchmarks/fleet-100k.sh [path/to/ocs]
set -euo pipefail
cd "$(dirname "$0")/.."
OCS=${1:-.build/debug/ocs}
HOSTS=${HOSTS:-100000}
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
db=$work/ocs.sqlite

"$OCS" rules import Rules --db "$db" >/dev/null
token=$("$OCS" tokens create --name bench --role reader --db "$db")

# Realistic builds: every Exchange build in the catalog, each host on one of them; 1% report none.
builds=$(tail -n +2 Sources/OCSDomain/Catalog/exchange-builds.csv | cut -d, -f4 | sort -u | awk '{printf "%s(%d,'"'"'%s'"'"')", (NR>1?",":""), NR-1, $0}')
count=$(tail -n +2 Sources/OCSDomain/Catalog/exchange-builds.csv | cut -d, -f4 | sort -u | wc -l)
start=$(date +%s.%N)
sqlite3 "$db" <<SQL
BEGIN;
CREATE TEMP TABLE catalog_builds (n INTEGER PRIMARY KEY, build TEXT);
INSERT INTO catalog_builds VALUES $builds;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $HOSTS)
INSERT INTO hosts (server_id, server_name, build, org_id, applied, blocked, mitigations_enabled,
    data_collection_enabled, remote_address, user_agent, first_seen, last_seen, poll_count)
SELECT printf('%08x-0000-4000-8000-%012d', i, i), printf('EX-%06d', i),
    CASE WHEN i % 100 = 0 THEN NULL ELSE (SELECT build FROM catalog_builds WHERE n = (i * 7919) % $count) END,
    NULL,
    CASE WHEN i % 3 = 0 THEN '["PING1"]' ELSE '["PING1","M1"]' END,
    CASE WHEN i % 50 = 0 THEN '["M1"]' ELSE '[]' END,
    i % 20 <> 0, 1, '10.0.' || (i / 256 % 256) || '.' || (i % 256), 'Microsoft Exchange EEMS',
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
printf 'database: %s bytes (%s)\n' "$(stat -c %s "$db")" "$(du -h "$db" | cut -f1)"

"$OCS" serve --port 0 --db "$db" --rules Rules >"$work/out" 2>"$work/log" &
server=$!
for _ in $(seq 100); do grep -q '^listening on' "$work/out" 2>/dev/null && break; sleep 0.1; done
base=$(sed -n 's/^listening on //p' "$work/out")
rss() { awk '/VmRSS/ {print $2 " kB"}' /proc/$server/status; }
echo "RSS after start: $(rss)"
call() { curl -s -o "$work/body" -w '%{time_total}' -H "Authorization: Bearer $token" "$base/api/v1$1"; }
for i in 1 2 3; do echo "GET /api/v1/fleet #$i: $(call /fleet) s"; done
echo "RSS after three fleet calls: $(rss)"
echo "GET /api/v1/rules/M1/coverage: $(call /rules/M1/coverage) s"
echo "GET /api/v1/rules/M1/coverage?state=exposed&limit=1000: $(call '/rules/M1/coverage?state=exposed&limit=1000') s ($(stat -c %s "$work/body") bytes)"
echo "GET /api/v1/hosts?limit=1000: $(call '/hosts?limit=1000') s ($(stat -c %s "$work/body") bytes)"
echo "GET /api/v1/hosts?stale=true: $(call '/hosts?stale=true') s"
echo "GET /api/v1/rules/M1/impact: $(call /rules/M1/impact) s"
echo "RSS at the end: $(rss)"
