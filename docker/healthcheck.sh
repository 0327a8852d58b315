#!/bin/sh
# The image's HEALTHCHECK: succeeds when ocs answers GET /readyz with 200 on loopback.
# Scheme and port follow OCS_TLS_CERT and OCS_PORT, as ocs serve does; OCS_HEALTHCHECK_URL
# replaces the whole URL (for a port or TLS set in an OCS_CONFIG file instead).
set -eu
if [ -n "${OCS_TLS_CERT:-}" ]; then scheme=https; else scheme=http; fi
url=${OCS_HEALTHCHECK_URL:-$scheme://127.0.0.1:${OCS_PORT:-8080}/readyz}
# --insecure: the certificate names the service, not 127.0.0.1, and this probe trusts nothing it reads.
exec curl --fail --silent --show-error --insecure --max-time 4 --output /dev/null "$url"
