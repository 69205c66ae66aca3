#!/bin/sh
# The main job on a machine that is not on Azure: install dependencies,
# build, then run `hostenc check` against a simulated AKS node: a fixture
# host root (sysfs tree, filesystem images, mountinfo) and the fake IMDS on
# 127.0.0.1, whose attested document is signed by a test CA made at start.
#   scripts/demo.sh [FIXTURE [COMPUTE_JSON]]   (default: ds2v2-gen1)
set -eu
cd "$(dirname "$0")/.."
fixture=${1:-ds2v2-gen1}
compute=${2:-$fixture.json}

scripts/install-deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null

tmp=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT INT TERM
build/tests/fake-imds/fake-imds --compute "tests/data/imds/$compute" \
        --trust-out "$tmp/trust.pem" --port-file "$tmp/port" &
pid=$!
i=0
while [ ! -s "$tmp/port" ]; do
        i=$((i + 1)); [ $i -lt 200 ] || { echo "demo: fake IMDS did not start" >&2; exit 1; }
        sleep 0.05
done
port=$(cat "$tmp/port")

echo "== hostenc check: simulated AKS node '$fixture' (IMDS: $compute on 127.0.0.1:$port)"
rc=0
build/hostenc check --host-root "build/tests/hostroots/$fixture" \
        --imds-url "http://127.0.0.1:$port" --imds-trust "$tmp/trust.pem" "${HOSTENC_OUTPUT:---output=text}" || rc=$?
echo "== exit code $rc (0 compliant, 1 noncompliant, 2 unknown)"
