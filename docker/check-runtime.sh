#!/usr/bin/env bash
# Proves docker/Dockerfile's runtime stage without a Docker engine. It builds a Debian root file
# system with debootstrap and sets it up with the image's own docker/runtime-setup.sh (the packages
# of docker/runtime-packages.txt, the user ocs); copies the release binary, the healthcheck and
# Rules/ in; and inside a chroot, as user ocs, checks that the binary finds every library, starts
# `ocs serve`, answers the healthcheck probe, serves a well-formed signed feed that `ocs verify`
# accepts, records the poll, and creates an API token that the API accepts. Then it stops the
# server on SIGTERM. Any failure exits non-zero with one line saying what failed.
#
# Needs root (debootstrap, chroot, mount); installs debootstrap and xmllint with apt-get if missing.
# The root file system is cached in .build-rootfs/, keyed by a hash of the package list, the setup
# script and the suite, since debootstrap takes minutes; the release binary is built (incrementally)
# in .build-release while a new root file system is made.
#   OCS_BINARY=PATH          test this binary instead of building one
#   OCS_DEBIAN_MIRROR=URL    Debian mirror (default http://deb.debian.org/debian; security updates
#                            from OCS_DEBIAN_SECURITY_MIRROR, default http://deb.debian.org/debian-security)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
started=$SECONDS

say() { echo "check-runtime: $*"; }
fail() { echo "check-runtime: FAIL: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "needs root for debootstrap, chroot and mount"

# Run in a private mount namespace, so the mounts go away with the script even if it is killed.
if [ -z "${OCS_CHECK_RUNTIME_NAMESPACE:-}" ] && unshare --mount --propagation private true 2>/dev/null; then
    OCS_CHECK_RUNTIME_NAMESPACE=1 exec unshare --mount --propagation private bash "$0" "$@"
fi

suite=bookworm
mirror=${OCS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${OCS_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
packages=docker/runtime-packages.txt
setup=docker/runtime-setup.sh
ocs_uid=10001
chroot=$(command -v chroot)

# The Dockerfile's runtime stage must be what this script rebuilds: the same Debian suite, set up
# by runtime-setup.sh alone.
runtime_stage=$(sed -n "/^FROM debian:/,\$p" docker/Dockerfile)
grep -q "^FROM debian:$suite-slim\$" <<<"$runtime_stage" \
    || fail "docker/Dockerfile's runtime stage is not FROM debian:$suite-slim; change suite= here with it"
grep -q "runtime-setup.sh /tmp/ocs-setup/runtime-packages.txt" <<<"$runtime_stage" \
    || fail "docker/Dockerfile's runtime stage does not run $setup with $packages"
if grep -q "apt-get\|useradd" <<<"$runtime_stage"; then
    fail "docker/Dockerfile's runtime stage installs packages or users outside $setup; move that into it"
fi

# Host tools.
missing=()
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v xmllint >/dev/null || missing+=(libxml2-utils)
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

work=$(mktemp -d)
root=""
server=""
rootfs_job=""
mounted=()
cleanup() {
    if [ -n "${rootfs_job:-}" ] && kill -0 "$rootfs_job" 2>/dev/null; then
        pkill -TERM -P "$rootfs_job" 2>/dev/null || true
        wait "$rootfs_job" 2>/dev/null || true
    fi
    if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then kill -KILL "$server" 2>/dev/null || true; fi
    local index
    for ((index = ${#mounted[@]} - 1; index >= 0; index--)); do umount "${mounted[index]}" 2>/dev/null || umount -l "${mounted[index]}" || true; done
    rm -rf "$work"
}
trap cleanup EXIT
trap "exit 130" INT
trap "exit 143" TERM HUP

# /proc and the few devices a chroot needs, from the host.
mount_into() {
    local target=$1 device
    mount -t proc proc "$target/proc" \
        || fail "cannot mount /proc in $target: mounting needs CAP_SYS_ADMIN (a VM or a privileged container)"
    mounted+=("$target/proc")
    for device in null zero random urandom; do
        [ -e "$target/dev/$device" ] || touch "$target/dev/$device"
        mount --bind "/dev/$device" "$target/dev/$device" || fail "cannot bind-mount /dev/$device into $target"
        mounted+=("$target/dev/$device")
    done
}
unmount_all() {
    local index
    for ((index = ${#mounted[@]} - 1; index >= 0; index--)); do umount "${mounted[index]}"; done
    mounted=()
}

# --- The root file system: cached by the hash of what makes it. ---
cache=${OCS_ROOTFS_CACHE:-$repo/.build-rootfs}
key=$( { cat "$packages" "$setup"; echo "$suite $mirror $security_mirror"; } | sha256sum | cut -c1-16)
root=$cache/$suite-$key

make_rootfs() {
    local partial=$root.partial
    mkdir -p "$cache"
    rm -rf --one-file-system "$partial"
    local begun=$SECONDS
    timeout 1200 debootstrap --variant=minbase "$suite" "$partial" "$mirror" >"$work/debootstrap.log" 2>&1 \
        || { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap $suite from $mirror failed (log above)"; }
    # The sources of debian:bookworm-slim, so the setup installs the same versions.
    printf 'deb %s %s main\n' "$mirror" "$suite" "$mirror" "$suite-updates" "$security_mirror" "$suite-security" \
        >"$partial/etc/apt/sources.list"
    cp /etc/resolv.conf "$partial/etc/resolv.conf"
    mkdir -p "$partial/tmp/ocs-setup"
    cp "$packages" "$setup" "$partial/tmp/ocs-setup/"
    mount_into "$partial"
    timeout 900 chroot "$partial" sh /tmp/ocs-setup/runtime-setup.sh /tmp/ocs-setup/runtime-packages.txt \
        >"$work/setup.log" 2>&1 \
        || { tail -20 "$work/setup.log" >&2; fail "$setup failed in the chroot (log above)"; }
    unmount_all
    rm -rf "$partial/tmp/ocs-setup"
    mv "$partial" "$root"
    say "root file system made in $((SECONDS - begun)) s: $root"
    # Older root file systems, made from another list, are not used again.
    local other
    for other in "$cache"/*; do
        [ "$other" = "$root" ] || rm -rf --one-file-system "$other"
    done
}

if [ -d "$root" ]; then
    say "reusing the root file system $root ($packages unchanged)"
else
    say "making a Debian $suite root file system with debootstrap and $setup (minutes; cached afterwards)"
    ( trap 'unmount_all 2>/dev/null || true' EXIT; make_rootfs ) &
    rootfs_job=$!
fi

# --- The release binary, built meanwhile. ---
if [ -n "${OCS_BINARY:-}" ]; then
    binary=$OCS_BINARY
else
    build=(swift build -c release --product ocs --static-swift-stdlib --scratch-path .build-release)
    say "building the release binary: ${build[*]}"
    begun=$SECONDS
    "${build[@]}" >"$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; fail "the release build failed (log above)"; }
    binary=$("${build[@]}" --show-bin-path)/ocs
    say "release binary ready in $((SECONDS - begun)) s"
fi
[ -x "$binary" ] || fail "no executable release binary at $binary"

if [ -n "$rootfs_job" ]; then
    wait "$rootfs_job" || fail "the root file system could not be made (see above)"
fi
[ -d "$root" ] || fail "no root file system at $root"

# --- Install the binary as the image does, with a fresh state directory. ---
install -m 0755 "$binary" "$root/usr/local/bin/ocs"
install -m 0755 docker/healthcheck.sh "$root/usr/local/bin/ocs-healthcheck"
rm -rf "$root/usr/share/ocs"
mkdir -p "$root/usr/share/ocs"
cp -R Rules "$root/usr/share/ocs/Rules"
find "$root/var/lib/ocs" -mindepth 1 -delete
rm -f "$root/tmp/feed.xml"
mount_into "$root"

# As the image's user, in its working directory, with only the image's PATH.
as_ocs() {
    timeout "${limit:-30}" env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/var/lib/ocs \
        "$chroot" --userspec=$ocs_uid:$ocs_uid "$root" /bin/sh -c 'cd /var/lib/ocs && exec "$@"' sh "$@"
}

[ "$(chroot "$root" id -un $ocs_uid 2>/dev/null)" = ocs ] || fail "$setup did not create the user ocs ($ocs_uid)"

unresolved=$(chroot "$root" ldd /usr/local/bin/ocs | grep 'not found' || true)
[ -z "$unresolved" ] || fail "the binary links libraries the runtime stage lacks; add their packages to $packages:
$unresolved"
say "every library the binary links is installed: $(chroot "$root" ldd /usr/local/bin/ocs | awk '/=>/ {print $1}' | tr '\n' ' ')"

# --- Serve, as the image's user. ---
# Not through as_ocs: every program on the way execs the next, so $! is the server's process id.
# Settings from the environment, as the image gives them (only host and port differ: loopback,
# and a free port, since the chroot shares this machine's network).
env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/var/lib/ocs \
    OCS_DATABASE=sqlite:/var/lib/ocs/ocs.sqlite OCS_RULES=/usr/share/ocs/Rules OCS_HOST=127.0.0.1 OCS_PORT=0 \
    "$chroot" --userspec=$ocs_uid:$ocs_uid "$root" /bin/sh -c 'cd /var/lib/ocs && exec ocs serve' \
    >"$work/serve.out" 2>"$work/serve.err" &
server=$!
port=""
for _ in $(seq 1 120); do
    port=$(sed -n 's|^listening on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$work/serve.out")
    [ -z "$port" ] || break
    kill -0 "$server" 2>/dev/null || { cat "$work/serve.err" >&2; fail "ocs serve exited in the chroot before listening (log above)"; }
    sleep 0.5
done
[ -n "$port" ] || { tail -20 "$work/serve.err" >&2; fail "ocs serve did not say it was listening within 60 s"; }
say "ocs serve listens on 127.0.0.1:$port in the chroot, as user ocs"

# The image's HEALTHCHECK script, asking /readyz (the URL names the free port the server took).
probe_url="http://127.0.0.1:$port/readyz"
healthy=""
for _ in $(seq 1 20); do
    if limit=10 as_ocs env OCS_HEALTHCHECK_URL="$probe_url" ocs-healthcheck 2>"$work/probe.err"; then
        healthy=1
        break
    fi
    sleep 0.5
done
[ -n "$healthy" ] || { tail -5 "$work/serve.err" >&2
    fail "the healthcheck probe of $probe_url did not succeed within 10 s: $(cat "$work/probe.err")"; }
say "the healthcheck answers"

# The host enrolls as an agent does (a one-time token from ocs enrollment create, exchanged by
# ocs agent enroll for a credential in its state folder), then polls with the chroot's curl,
# identified and carrying the credential, so the poll is recorded as a check-in.
server_id=5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a
enrollment=$(as_ocs env OCS_DATABASE=sqlite:/var/lib/ocs/ocs.sqlite ocs enrollment create 2>"$work/enrollment.err") \
    || fail "ocs enrollment create failed in the chroot: $(cat "$work/enrollment.err")"
enrolled=$(as_ocs env OCS_ENROLLMENT_TOKEN="$enrollment" ocs agent enroll --server "http://127.0.0.1:$port" \
    --state /var/lib/ocs/agent --name check-runtime --server-id $server_id 2>&1) \
    || fail "ocs agent enroll failed in the chroot: $enrolled"
as_ocs sh -c 'curl --fail --silent --show-error --max-time 10 --output /tmp/feed.xml \
    -H "Authorization: Bearer $(cat /var/lib/ocs/agent/host-credential)" "$1"' sh \
    "http://127.0.0.1:$port/getexchangemitigations?build=15.1.2507.6&server=check-runtime&serverId=$server_id" \
    || fail "the poll of /getexchangemitigations failed"
feed=$root/tmp/feed.xml
xmllint --noout "$feed" 2>"$work/xmllint.err" || fail "the feed is not well-formed XML: $(head -3 "$work/xmllint.err")"
grep -q '<Signature' "$feed" || fail "the feed carries no <Signature"
grep -q 'id="M1"' "$feed" && grep -q 'id="PING1"' "$feed" || fail "the feed for 15.1.2507.6 lacks M1 or PING1 from Rules/"
verified=$(as_ocs ocs verify /tmp/feed.xml --cert /var/lib/ocs/dev-signing-cert.pem 2>&1) \
    || fail "ocs verify refused the feed in the chroot: $verified"
say "the feed is well-formed, signed, and ocs verify accepts it"

hosts=$(as_ocs env OCS_DATABASE=sqlite:/var/lib/ocs/ocs.sqlite ocs hosts) || fail "ocs hosts failed in the chroot: $hosts"
grep -qi 'check-runtime' <<<"$hosts" || fail "the poll was not recorded: ocs hosts shows no check-runtime"
token=$(as_ocs env OCS_DATABASE=sqlite:/var/lib/ocs/ocs.sqlite ocs tokens create --name check-runtime --role reader) \
    || fail "ocs tokens create failed in the chroot: $token"
status=$(as_ocs curl --silent --max-time 10 --output /dev/null --write-out '%{http_code}' \
    -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/rules")
[ "$status" = 200 ] || fail "GET /api/v1/rules with a token from ocs tokens create answered $status, not 200"
say "the enrolled host's poll is recorded, and a token made by ocs tokens create opens the API"

# --- Stop on SIGTERM, as docker stop does. ---
kill -TERM "$server"
for _ in $(seq 1 30); do kill -0 "$server" 2>/dev/null || break; sleep 0.5; done
kill -0 "$server" 2>/dev/null && fail "ocs serve did not stop within 15 s of SIGTERM"
exit_status=0
wait "$server" || exit_status=$?
server=""
[ "$exit_status" -eq 0 ] || { tail -5 "$work/serve.err" >&2; fail "ocs serve exited with status $exit_status on SIGTERM"; }
unmount_all
say "ocs serve stopped on SIGTERM; the runtime stage works (in $((SECONDS - started)) s)"
