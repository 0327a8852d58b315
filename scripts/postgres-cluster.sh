#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests, from Debian's postgresql package.
#
#   scripts/postgres-cluster.sh start FOLDER   initdb in FOLDER, start the server on 127.0.0.1 (a free
#                                               port, TLS offered with a self-signed certificate) and
#                                               on a Unix socket in FOLDER, create the role and database
#                                               `ocs` (it may create databases); prints
#                                               OCS_TEST_POSTGRES_URL=URL (also written to FOLDER/url)
#                                               and OCS_TEST_POSTGRES_SOCKET_URL=URL (the socket)
#   scripts/postgres-cluster.sh stop FOLDER    stop that server (FOLDER is left for the caller)
#   scripts/postgres-cluster.sh resume FOLDER  start a stopped one again, on the same port (for
#                                               tests of what happens while the database is down)
#
# Trust authentication, for local test use only: nothing but this machine reaches it. The server
# refuses to run as root, so a root caller runs it as the `postgres` user. fsync is off (tests
# need no durability across a machine crash) unless OCS_POSTGRES_FSYNC=on (the benchmarks, which
# compare durable commits with SQLite's).
set -euo pipefail

usage() { echo "usage: $0 start|stop|resume FOLDER" >&2; exit 64; }
[ $# -eq 2 ] || usage
command=$1
folder=$(cd "$2" && pwd)

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin" ]; then
    echo "postgres-cluster: no PostgreSQL server in /usr/lib/postgresql/*/bin: install Debian's postgresql package" >&2
    exit 1
fi

as_server_user() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# The server inherits pg_ctl's descriptors, so it gets none of the caller's: a caller that
# learns of this script's exit from a descriptor closing (Foundation's Process, in the tests)
# would otherwise wait for the server to exit.
start_server() {
    port=$(cat "$folder/port")
    local path descriptor
    for path in /proc/$BASHPID/fd/*; do
        descriptor=${path##*/}
        [ "$descriptor" -gt 2 ] 2>/dev/null || continue
        eval "exec $descriptor>&-" 2>/dev/null || true
    done
    as_server_user "$bin/pg_ctl" --pgdata="$folder/data" --log="$folder/server.log" --wait \
        --options="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$folder -c fsync=${OCS_POSTGRES_FSYNC:-off} -c ssl=on -c ssl_cert_file=$folder/server.crt -c ssl_key_file=$folder/server.key" \
        start </dev/null >/dev/null 2>>"$folder/pg_ctl.log" \
        || { cat "$folder/pg_ctl.log" "$folder/server.log" >&2; exit 1; }
}

case "$command" in
start)
    [ "$(id -u)" -ne 0 ] || chown postgres: "$folder"
    as_server_user "$bin/initdb" --pgdata="$folder/data" --auth=trust --username=postgres \
        --encoding=UTF8 --locale=C.UTF-8 >"$folder/initdb.log" 2>&1 \
        || { cat "$folder/initdb.log" >&2; exit 1; }
    # TLS with a self-signed certificate, so the tests can check each sslmode against a real handshake.
    openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 2 \
        -keyout "$folder/server.key" -out "$folder/server.crt" >/dev/null 2>&1
    chmod 600 "$folder/server.key"
    [ "$(id -u)" -ne 0 ] || chown postgres: "$folder/server.key" "$folder/server.crt"
    # A free port: the kernel picks one for a socket that is then closed.
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    echo "$port" >"$folder/port"
    start_server
    as_server_user "$bin/psql" --quiet --no-psqlrc --host="$folder" --port="$port" --username=postgres \
        --dbname=postgres --set=ON_ERROR_STOP=1 \
        --command="CREATE ROLE ocs LOGIN CREATEDB" --command="CREATE DATABASE ocs OWNER ocs" >/dev/null
    url="postgres://ocs@127.0.0.1:$port/ocs?sslmode=disable"
    echo "$url" >"$folder/url"
    echo "OCS_TEST_POSTGRES_URL=$url"
    echo "OCS_TEST_POSTGRES_SOCKET_URL=postgres://ocs@:$port/ocs?host=$folder"
    ;;
stop)
    as_server_user "$bin/pg_ctl" --pgdata="$folder/data" --mode=fast --wait stop </dev/null >/dev/null
    ;;
resume)
    start_server
    ;;
*)
    usage
    ;;
esac
