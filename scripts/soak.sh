#!/bin/sh
# Soak: `hostenc run` for CYCLES one-second cycles (default 2000, about 40
# minutes) against the fakes with every sink on; RSS and open descriptors
# must stay flat (tests/soak/soak.py says how flat). The CI runs a short
# version (60 cycles) as the meson test "soak".
#
#   scripts/soak.sh [CYCLES] [--csv FILE]
#
# Uses the build tree $SOAK_BUILD (default build), building what it needs.
set -eu
cd "$(dirname "$0")/.."
dir=${SOAK_BUILD:-build}
[ -f "$dir/build.ninja" ] || meson setup "$dir" -Dtests=enabled >/dev/null
ninja -C "$dir" hostenc tests/fake-imds/fake-imds tests/fake-imds/fake-imds-long tests/hostroots.stamp >/dev/null
src=$PWD
export HOSTENC="$src/$dir/hostenc" FAKE_IMDS="$src/$dir/tests/fake-imds/fake-imds" \
        FAKE_IMDS_LONG="$src/$dir/tests/fake-imds/fake-imds-long" HOSTROOTS="$src/$dir/tests/hostroots" \
        IMDS_FIXTURES="$src/tests/data/imds"
exec python3 tests/soak/soak.py "$@"
