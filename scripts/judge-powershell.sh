#!/usr/bin/env bash
# The PowerShell ocs generates, judged by tree-sitter-powershell (PyPI), since PowerShell does not
# run here: the scripts for Microsoft's genuine feed (verified against its root at its signing
# time) and for a feed ocs signs with its starter rules (M1's URL rewrite rule and PING1), for an
# Exchange 2016 CU23 host; and the Windows agent's four scripts for both schedules and both kinds
# of trust, its server URL judged as data. (The tests judge hostile values in every field too.)
# Takes the folder of a built ocs binary.
#
#   bash scripts/judge-powershell.sh .build/debug
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:?usage: judge-powershell.sh BIN_FOLDER}
ocs="$bin/ocs"

python3 -c 'import tree_sitter, tree_sitter_powershell' 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check tree-sitter tree-sitter-powershell

work=$(mktemp -d "${TMPDIR:-/tmp}/ocs-judge-ps.XXXXXX")
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

"$ocs" agent script --feed Tests/Fixtures/microsoft/microsoft-feed-2021-09.xml \
    --ca Tests/Fixtures/microsoft/microsoft-root-ca-2011.pem --at 2021-09-15T16:42:08Z --out "$work/microsoft" >/dev/null

# A database with the starter rules and a development key: made by a first start of the server.
"$ocs" serve --db "$work/db/ocs.sqlite" --rules Rules --port 0 >"$work/serve.out" 2>"$work/serve.err" &
server=$!
for _ in $(seq 1 300); do
    grep -q "^listening on" "$work/serve.out" && break
    kill -0 "$server" 2>/dev/null || { cat "$work/serve.err" >&2; exit 1; }
    sleep 0.1
done
grep -q "^listening on" "$work/serve.out" || { echo "judge-powershell: ocs serve did not start" >&2; exit 1; }
kill "$server"; wait "$server" || true; server=""
"$ocs" feed --build 15.1.2507.6 --db "$work/db/ocs.sqlite" >"$work/feed.xml"
"$ocs" agent script --feed "$work/feed.xml" --cert "$work/db/dev-signing-cert.pem" --out "$work/ocs" >/dev/null

"$ocs" agent windows --server "https://ocs.example.org:8443/it's/\$(calc)" --cert "$work/db/dev-signing-cert.pem" --out "$work/windows" >/dev/null
"$ocs" agent windows --server http://127.0.0.1:8080 --allow-plain-http --ca "$work/db/dev-signing-cert.pem" --schedule hourly --out "$work/windows-hourly" >/dev/null
printf '%s' "[\"https://ocs.example.org:8443/it's/\$(calc)\"]" >"$work/values.json"

python3 scripts/judge-powershell.py "$work"/microsoft/*.ps1 "$work"/ocs/*.ps1 "$work"/windows-hourly/*.ps1
python3 scripts/judge-powershell.py --values "$work/values.json" "$work"/windows/*.ps1
