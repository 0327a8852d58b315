#!/usr/bin/env bash
# Checks deploy/ocs.service without a running systemd:
#   - `systemd-analyze verify` finds no error and no warning (it exits 0 on warnings such as an
#     unknown key or a misspelt value, so any line it prints about the unit fails the check);
#   - `systemd-analyze security --offline` rates its exposure at most 2.0 (of 10), so loosening
#     the hardening fails;
#   - every OCS_ variable that the unit and deploy/ocs.env set is one `ocs serve` reads.
# Installs systemd's tools with apt-get when missing and run as root; otherwise prints a skip line.
set -euo pipefail
cd "$(dirname "$0")/.."

unit=deploy/ocs.service
environment_file=deploy/ocs.env
max_exposure=20   # tenths: 2.0

fail() { echo "check-unit: FAIL: $*" >&2; exit 1; }

if ! command -v systemd-analyze >/dev/null; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        echo "check-unit: installing systemd for systemd-analyze"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd >/dev/null
    fi
    if ! command -v systemd-analyze >/dev/null; then
        echo "check-unit: SKIP: systemd-analyze is missing and cannot be installed (needs root and apt-get); $unit not verified"
        exit 0
    fi
fi

# verify needs ExecStart's program to exist: check a copy whose /usr/local/bin/ocs is a stub.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '#!/bin/sh\nexit 0\n' > "$work/ocs"
chmod 755 "$work/ocs"
sed "s|/usr/local/bin/ocs|$work/ocs|g" "$unit" > "$work/ocs.service"

status=0
output=$(systemd-analyze verify --man=no "$work/ocs.service" 2>&1) || status=$?
if [ "$status" -ne 0 ] || grep -q 'ocs\.service' <<<"$output"; then
    fail "systemd-analyze verify $unit (exit $status):
${output//$work/deploy}"
fi
echo "check-unit: systemd-analyze verify $unit: no errors, no warnings"

status=0
report=$(systemd-analyze security --offline=yes --threshold="$max_exposure" "$work/ocs.service" 2>&1) || status=$?
exposure=$(grep -o 'Overall exposure level for ocs.service: [0-9.]*' <<<"$report" | grep -o '[0-9.]*$' || true)
if [ "$status" -ne 0 ] || [ -z "$exposure" ]; then
    fail "systemd-analyze security rates $unit's exposure ${exposure:-?} (at most $((max_exposure / 10)).$((max_exposure % 10)) allowed):
$(grep -F '✗' <<<"$report" || echo "$report")"
fi
echo "check-unit: systemd-analyze security --offline $unit: exposure $exposure of 10"

# The variables `ocs serve` reads; a misspelt one would be silently ignored at run time. Asked
# of the binary itself (`ocs config show` lists every setting by key; the variable is OCS_ and
# the key in capitals, words joined by _), with OCS_CONFIG for the configuration file's key and
# OCS_DATABASE_PASSWORD, which holds a secret and is no setting of its own.
ocs=${OCS_BINARY:-.build/debug/ocs}
[ -x "$ocs" ] || fail "no ocs binary at $ocs: build first (swift build), or name one in OCS_BINARY"
known=$("$ocs" config show | awk 'NR > 1 {print $1}' | sed -E 's/([A-Z])/_\1/g' | tr '[:lower:]' '[:upper:]' | sed 's/^/OCS_/' | paste -sd '|')
known="OCS_CONFIG|OCS_DATABASE_PASSWORD|$known"
unknown=$( { grep -Eo '^#?Environment=[A-Z_]+' "$unit" | sed 's/.*=//'
             grep -Eo '^#?[A-Z_]+=' "$environment_file" | tr -d '#='; } | grep -Evx "$known" || true)
[ -z "$unknown" ] || fail "variables ocs does not read: $(echo $unknown)"
grep -Ev '^(#.*|[A-Z_]+=.*|)$' "$environment_file" && fail "$environment_file: lines above are neither KEY=value nor comments"
echo "check-unit: $environment_file and the unit set only variables ocs reads"
