#!/bin/sh
# Installs hostenc's build and test dependencies from Debian 12 packages.
# Does nothing when they are all present already.
set -eu
packages="gcc meson ninja-build pkg-config python3
libcurl4-openssl-dev libcjson-dev libblkid-dev libssl-dev
libcmocka-dev libmicrohttpd-dev
e2fsprogs dosfstools ntfs-3g openssl
python3-cryptography python3-jsonschema python3-yaml libxml2-utils prometheus chromium
yamllint shellcheck faketime
curl valgrind prometheus-node-exporter util-linux
clang libclang-rt-14-dev clang-tidy cppcheck"
missing=
for p in $packages; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# Node.js and npm for Azurite (the blob suite): any installed ones will do.
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
# Azurite, pinned by tests/blob/package-lock.json.
install_azurite() {
        [ -x tests/blob/node_modules/.bin/azurite-blob ] && return 0
        (cd tests/blob && npm ci --no-audit --no-fund --loglevel=error)
}
if [ -z "$missing" ]; then
        cd "$(dirname "$0")/.." && install_azurite
        exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
        echo "install-deps: missing packages:$missing (run as root, or install them)" >&2
        exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
cd "$(dirname "$0")/.." && install_azurite
