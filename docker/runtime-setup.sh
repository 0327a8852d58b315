#!/bin/sh
# Sets up the runtime stage on a bare Debian bookworm: the packages of runtime-packages.txt and the
# user ocs runs as. docker/Dockerfile runs it in debian:bookworm-slim; docker/check-runtime.sh runs
# it in a debootstrapped root file system, so the check proves what the image gets.
# usage: runtime-setup.sh PACKAGE-LIST
set -eu
list=$1
export DEBIAN_FRONTEND=noninteractive

apt-get update -qq
sed -e 's/#.*//' "$list" | xargs apt-get install -y -qq --no-install-recommends
apt-get clean
rm -rf /var/lib/apt/lists/*

# A fixed uid, so bind mounts and secret files can be given to it on the host.
groupadd --system --gid 10001 ocs
useradd --system --uid 10001 --gid ocs --home-dir /var/lib/ocs --no-create-home --shell /usr/sbin/nologin ocs
# The database and the development signing key live here, readable by ocs alone.
install -d -o ocs -g ocs -m 0700 /var/lib/ocs
