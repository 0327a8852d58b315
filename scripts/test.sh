#!/usr/bin/env bash
# Runs the whole test suite on a bare Debian machine with the Swift toolchain:
# installs the independent judges the tests use, then builds and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

# The independent judges, installed only when missing: curl and xmllint judge HTTP and XML,
# xmlsec1 judges signatures, openssl makes CA chains, promtool (Debian's prometheus) judges
# /metrics, headless Chromium driven by Selenium (Debian's python3-selenium, run by /usr/bin/python3)
# judges the dashboard, python3 runs the agent tests' CONNECT proxy; the SQLite and zlib headers are
# for GRDB and gzip; postgresql is the server the PostgreSQL tests run against.
packages=(curl libxml2-utils xmlsec1 openssl gzip libsqlite3-dev zlib1g-dev ca-certificates prometheus
          chromium chromium-driver python3-selenium python3 postgresql)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# tree-sitter-powershell (PyPI) judges the generated PowerShell: the tests call it too
# (scripts/judge-powershell.py), so it is installed before they run, not by the judge script.
python3 -c 'import tree_sitter, tree_sitter_powershell' 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check tree-sitter tree-sitter-powershell \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages tree-sitter tree-sitter-powershell

# A throwaway PostgreSQL cluster for the tests that need one (they fail without it, never skip),
# stopped and removed however this script ends.
# In /tmp: the server runs as the postgres user, who must reach the folder.
postgres_cluster=$(mktemp -d /tmp/ocs-postgres.XXXXXX)
trap 'bash scripts/postgres-cluster.sh stop "$postgres_cluster" || true; rm -rf "$postgres_cluster"' EXIT
postgres_settings=$(bash scripts/postgres-cluster.sh start "$postgres_cluster")
while IFS= read -r setting; do
    export "${setting?}"
done <<<"$postgres_settings"
echo "PostgreSQL for the tests: $OCS_TEST_POSTGRES_URL"

swift build --build-tests
# Includes DashboardEndToEndTests, which runs Tests/Browser/dashboard_test.py against a real server.
# The PostgreSQL tests run on their own: the end-to-end tests wait for processes on the two threads
# of Swift's cooperative pool, which would hold every PostgreSQL client's work for minutes.
swift test --skip-build --skip '^OCSPostgresTests\.'
swift test --skip-build --filter '^OCSPostgresTests\.'
# The conformance run: the store, operation and feed suites again, each test on a database of its
# own on the PostgreSQL cluster (Tests/OCSTestSupport/TestDatabase.swift): one behaviour, two engines.
OCS_TEST_ENGINE=postgres swift test --skip-build --filter '^(OCSStorageTests|OCSOperationsTests|OCSFeedTests)\.'

# The README's and the docs' examples, in order, on a fresh clone against a real server, with the
# debug binary just built (no second build; seconds), then the command reference (docs/ocs.1)
# regenerated from that binary and compared (the plugin builds only its own small tool).
bash scripts/readme-examples.sh .build/debug
bash scripts/check-manual.sh
# The generated PowerShell, parsed by tree-sitter-powershell (PyPI): no error node.
bash scripts/judge-powershell.sh .build/debug

# Deployment: the systemd unit (systemd-analyze), then the Docker runtime stage in a debootstrapped
# chroot with the release binary (needs root; minutes when cold, cached in .build-rootfs/ and
# .build-release/ afterwards).
bash deploy/check-unit.sh
if [ "$(id -u)" -eq 0 ]; then
    bash docker/check-runtime.sh
else
    echo "check-runtime: SKIP: docker/check-runtime.sh needs root (debootstrap, chroot, mount); run it as root to check the image's runtime stage"
fi
